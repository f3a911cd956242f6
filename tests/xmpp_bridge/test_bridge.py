"""The bridge's lifecycle over a real slixmpp connection: connect, lose, back off, catch up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Sequence
from xml.etree import ElementTree as ET

import pytest

from business import commands as c
from business.model import ConversationState
from tests.harness import World
from tests.xmpp_bridge.component_server import COMPONENT_NS, ComponentServer
from tests.xmpp_bridge.support import ALICE, ALICE_JID, SUPPORT, eventually, fail_once
from xmpp_bridge import BridgeSettings, XmppBridge
from xmpp_bridge.roster import QueueRoster
from xmpp_bridge.subscriptions import Subscription, SubscriptionStore

SECRET = "a component secret long enough to be accepted"


def settings(port: int, **changes: object) -> BridgeSettings:
    values: dict[str, object] = {
        "secret": SECRET,
        "port": port,
        "reconnect_min_delay": 0.05,
        "reconnect_max_delay": 0.2,
        "handshake_timeout": 1.0,
        "presence_relearn_timeout": 0.2,
        "delivery_flush_interval": 0.01,
        **changes,
    }
    return BridgeSettings(**values)  # type: ignore[arg-type]


class Bridges:
    """Makes bridges and fake servers for one test and tears every one of them down,
    whether the test passed or not: a bridge left running would keep reconnecting into
    the next test's event loop."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._bridges: list[XmppBridge] = []
        self._servers: list[ComponentServer] = []

    def bridge(self, port: int, **changes: object) -> XmppBridge:
        bridge = XmppBridge(
            settings=settings(port, **changes),
            services=self._world.services,
            random=lambda: 0.5,
        )
        self._bridges.append(bridge)
        return bridge

    async def connected(self, port: int, **changes: object) -> XmppBridge:
        bridge = self.bridge(port, **changes)
        await bridge.start()
        await bridge.wait_connected(5)
        return bridge

    async def server(
        self, *, secret: str = SECRET, port: int = 0, **kwargs: bool
    ) -> ComponentServer:
        server = ComponentServer(secret=secret, **kwargs)
        self._servers.append(server)
        await server.start(port)
        return server

    async def close(self) -> None:
        try:
            for bridge in reversed(self._bridges):
                await bridge.stop()
        finally:
            for server in reversed(self._servers):
                await server.close()


@pytest.fixture
async def bridges(world: World) -> AsyncIterator[Bridges]:
    made = Bridges(world)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def server(bridges: Bridges) -> ComponentServer:
    return await bridges.server()


def bodies(stanzas: Sequence[ET.Element]) -> list[str]:
    return [b.text or "" for s in stanzas if (b := s.find(f"{{{COMPONENT_NS}}}body")) is not None]


def from_conversation(stanzas: Sequence[ET.Element], conversation_id: str) -> list[str]:
    jid = f"c-{conversation_id}@chat.localhost"
    return bodies([s for s in stanzas if s.get("from") == jid])


async def subscribed_alice(world: World) -> None:
    await world.add_agent(ALICE, ready=True)
    await SubscriptionStore(world.adapter_state).save(
        Subscription(address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True, queue_sees_agent=True)
    )


async def test_connects_announces_and_stops_cleanly(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)

    bridge = await bridges.connected(server.port)

    assert bridge.connected
    available, probe = await server.wait_for(2)
    assert (available.get("from"), available.get("to"), available.get("type")) == (
        "support@chat.localhost",
        "alice@localhost",
        None,
    )
    assert probe.get("type") == "probe"

    await bridge.stop()

    assert not bridge.connected
    assert server.closed_streams == 1
    # Stopping takes the queue offline in the agents' rosters.
    assert server.stanzas[-1].get("type") == "unavailable"


async def test_stop_leaves_no_task_and_no_connection_behind(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    before = asyncio.all_tasks()
    bridge = await bridges.connected(server.port)
    # A lost link and a reconnect on the way: each attempt must not leave anything behind.
    server.drop()
    await server.wait_until(lambda: server.handshakes == 2)
    await bridge.wait_connected(5)
    await world.start(await world.visitor(), "Hello")
    await server.wait_until(lambda: bool(bodies(server.stanzas)))

    await bridge.stop()
    await asyncio.sleep(0)

    assert asyncio.all_tasks() - before == set()
    await server.wait_until(lambda: not server.link_open)


async def test_a_lost_link_is_re_established_and_what_was_missed_is_replayed(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    bridge = await bridges.connected(server.port)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    await server.wait_until(lambda: bodies(server.stanzas))

    server.drop()
    await asyncio.sleep(0.01)
    assert not bridge.connected
    await world.visitor_says(visitor, conversation.id, "sent while the link was down")
    await bridge.wait_connected(5)

    await server.wait_until(lambda: "sent while the link was down" in bodies(server.stanzas))
    texts = bodies(server.stanzas)
    assert texts.count("sent while the link was down") == 1
    assert server.handshakes == 2
    messages = [s for s in server.stanzas if s.tag == f"{{{COMPONENT_NS}}}message"]
    assert {s.get("to") for s in messages} == {ALICE_JID}


@pytest.mark.parametrize("refusal", ["by content", "by size"])
async def test_a_stanza_the_server_refuses_is_parked_and_every_chat_goes_on(
    world: World, server: ComponentServer, bridges: Bridges, refusal: str
) -> None:
    await subscribed_alice(world)
    if refusal == "by content":
        server.refuse = lambda stanza: "POISON" in "".join(bodies([stanza]))
        poison = "POISON"
    else:
        server.max_stanza_size = 3000
        poison = "x" * 3500
    bridge = await bridges.connected(server.port)
    poisoned_visitor, other_visitor = await world.visitor(), await world.visitor()

    poisoned = await world.start(poisoned_visitor, poison)
    other = await world.start(other_visitor, "Just a question")

    def arrived() -> bool:
        return any("Just a question" in b for b in from_conversation(server.stanzas, other.id))

    await server.wait_until(arrived)
    await bridge.wait_connected(5)
    # In the poisoned chat's window the agent reads a notice instead of the offer.
    await server.wait_until(lambda: bool(from_conversation(server.stanzas, poisoned.id)))
    [notice] = from_conversation(server.stanzas, poisoned.id)
    assert "could not be delivered to you" in notice
    assert len(server.refused) == 3, "refused twice in a crowd, once alone, then parked"

    # The link stays up; both chats go on, the poisoned one included.
    connections = server.connections
    await world.visitor_says(other_visitor, other.id, "still there?")
    await world.visitor_says(poisoned_visitor, poisoned.id, "and me?")
    await server.wait_until(lambda: "still there?" in bodies(server.stanzas))
    await server.wait_until(lambda: "and me?" in bodies(server.stanzas))
    assert server.connections == connections
    assert bridge.connected
    # The parked event is behind the cursor: it is not sent again, even after a restart.
    await eventually(lambda: (s := world.conv(poisoned.id)).agent_delivered_pos == s.last_pos)
    assert len(server.refused) == 3


async def test_agents_stanzas_arrive_over_the_wire(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    await bridges.connected(server.port)
    conversation = await world.start(await world.visitor(), "Hello")
    before = len(server.stanzas)

    server.inject(
        f"<message from='alice@localhost/laptop' to='c-{conversation.id}@chat.localhost' "
        "type='chat' id='x1'><body>!end</body></message>"
    )

    await server.wait_until(lambda: len(server.stanzas) > before)
    assert world.conv(conversation.id).state is ConversationState.ENDED


async def test_keeps_trying_while_the_server_is_down(world: World, bridges: Bridges) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bridge = bridges.bridge(port)
    await bridge.start()
    await asyncio.sleep(0.3)
    assert not bridge.connected

    server = await bridges.server(port=port)

    await bridge.wait_connected(5)
    assert server.handshakes == 1


async def test_a_refused_secret_is_retried_with_backoff_and_never_counts_as_connected(
    bridges: Bridges,
) -> None:
    server = await bridges.server(secret="another secret")
    bridge = bridges.bridge(server.port)

    await bridge.start()

    await server.wait_until(lambda: server.connections >= 3)
    assert not bridge.connected
    with pytest.raises(TimeoutError):
        await bridge.wait_connected(0.05)


async def test_a_silent_server_is_given_up_on_after_the_handshake_timeout(
    bridges: Bridges,
) -> None:
    server = await bridges.server(answer_handshake=False)
    bridge = bridges.bridge(server.port, handshake_timeout=0.2)

    await bridge.start()

    await server.wait_until(lambda: server.connections >= 2)
    assert not bridge.connected


async def test_ready_agents_who_do_not_answer_the_probe_become_not_ready(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    await bridges.connected(server.port)

    # presence_relearn_timeout is 0.2 s.
    await eventually(lambda: not world.fakes.agents[ALICE].ready)


async def test_presence_answering_the_probe_keeps_the_agent_ready(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    await bridges.connected(server.port, presence_relearn_timeout=0.5)

    server.inject("<presence from='alice@localhost/laptop' to='support@chat.localhost'/>")
    await asyncio.sleep(0.7)

    assert world.fakes.agents[ALICE].ready


async def test_presence_expiry_counts_from_the_last_catch_up_attempt(
    world: World, server: ComponentServer, bridges: Bridges, monkeypatch: pytest.MonkeyPatch
) -> None:
    await subscribed_alice(world)
    fail_once(
        monkeypatch,
        world.delivery,
        "pending_agent_deliveries",
        ConnectionError("database hiccup"),
    )
    availability: list[bool] = []
    set_availability = world.agents.set_availability

    async def recorded(cmd: c.SetAgentAvailability) -> object:
        availability.append(cmd.ready)
        return await set_availability(cmd)

    monkeypatch.setattr(world.agents, "set_availability", recorded)
    loop = asyncio.get_running_loop()
    expiries: list[float] = []
    expire_unconfirmed = QueueRoster.expire_unconfirmed

    async def expire(roster: QueueRoster) -> None:
        expiries.append(loop.time())
        await expire_unconfirmed(roster)

    monkeypatch.setattr(QueueRoster, "expire_unconfirmed", expire)
    # Catch-up fails once and is retried 1 s later, probing the agents again; each
    # probe gives them 1.5 s to answer.
    retry_delay, relearn_timeout = 1.0, 1.5
    bridge = bridges.bridge(
        server.port,
        presence_relearn_timeout=relearn_timeout,
        reconnect_min_delay=retry_delay,
        reconnect_max_delay=retry_delay,
    )

    def probes() -> int:
        return len([s for s in server.stanzas if s.get("type") == "probe"])

    await bridge.start()
    await server.wait_until(lambda: probes() == 1)
    first_probe = loop.time()
    await server.wait_until(lambda: probes() == 2)
    await bridge.wait_connected(5)

    # Alice answers the second probe: in time for it, whenever the first one expired.
    server.inject("<presence from='alice@localhost/laptop' to='support@chat.localhost'/>")
    await eventually(lambda: expiries, timeout=10)

    # One expiry, counted from the second probe (1 s after the first; counted from the
    # first it would come 1.5 s after it): the first probe's was called off.
    [expired_at] = expiries
    assert expired_at - first_probe > relearn_timeout + retry_delay / 2
    assert False not in availability
    assert world.fakes.agents[ALICE].ready


async def test_stop_writes_delivery_cursors(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    bridge = await bridges.connected(server.port, delivery_flush_interval=3600)
    conversation = await world.start(await world.visitor(), "Hello")
    await server.wait_until(lambda: bodies(server.stanzas))

    await bridge.stop()

    stored = world.conv(conversation.id)
    assert stored.agent_delivered_pos == stored.last_pos


async def test_start_twice_is_a_bug(server: ComponentServer, bridges: Bridges) -> None:
    bridge = bridges.bridge(server.port)
    await bridge.start()

    with pytest.raises(RuntimeError):
        await bridge.start()


async def test_visitor_typing_goes_over_the_wire(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    await bridges.connected(server.port)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    await server.wait_until(lambda: bodies(server.stanzas))

    await world.messaging.set_visitor_typing(
        c.SetVisitorTyping(visitor_id=visitor, conversation_id=conversation.id, composing=True)
    )

    await server.wait_until(
        lambda: (
            server.stanzas[-1].find("{http://jabber.org/protocol/chatstates}composing") is not None
        )
    )


async def test_stop_on_a_link_that_went_silent_keeps_the_cursors_for_a_replay(
    world: World, server: ComponentServer, bridges: Bridges
) -> None:
    await subscribed_alice(world)
    bridge = await bridges.connected(
        server.port, delivery_flush_interval=3600, delivery_confirm_timeout=0.3
    )
    server.silent = True
    conversation = await world.start(await world.visitor(), "Hello into the void")
    await asyncio.sleep(0.05)

    await bridge.stop()

    # Nothing confirmed that the server read the offer: the next start must send it.
    stored = world.conv(conversation.id)
    assert stored.agent_delivered_pos < stored.last_pos
    pending = await world.delivery.pending_agent_deliveries()
    assert [p.conversation.id for p in pending] == [conversation.id]
