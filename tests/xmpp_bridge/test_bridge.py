"""The bridge's lifecycle over a real slixmpp connection: connect, lose, back off, catch up."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from xml.etree import ElementTree as ET

import pytest

from business import commands as c
from business.model import ConversationState
from tests.harness import World
from tests.xmpp_bridge.component_server import COMPONENT_NS, ComponentServer
from tests.xmpp_bridge.support import ALICE, SUPPORT
from xmpp_bridge import BridgeSettings, XmppBridge
from xmpp_bridge.subscriptions import Subscription, SubscriptionStore

SECRET = "s3cret"


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


def bridge_for(world: World, port: int, **changes: object) -> XmppBridge:
    return XmppBridge(
        settings=settings(port, **changes),
        services=world.services,
        random=lambda: 0.5,
    )


@pytest.fixture
async def server() -> AsyncIterator[ComponentServer]:
    server = ComponentServer(secret=SECRET)
    await server.start()
    yield server
    await server.close()


def bodies(stanzas: list[ET.Element]) -> list[str]:
    return [b.text or "" for s in stanzas if (b := s.find(f"{{{COMPONENT_NS}}}body")) is not None]


async def subscribed_alice(world: World) -> None:
    await world.add_agent(ALICE, ready=True)
    await SubscriptionStore(world.adapter_state).save(
        Subscription(address=ALICE, queue=SUPPORT, agent_sees_queue=True, queue_sees_agent=True)
    )


async def test_connects_announces_and_stops_cleanly(world: World, server: ComponentServer) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port)

    await bridge.start()
    await bridge.wait_connected(5)
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


async def test_a_lost_link_is_re_established_and_what_was_missed_is_replayed(
    world: World, server: ComponentServer
) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port)
    await bridge.start()
    await bridge.wait_connected(5)
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
    await bridge.stop()


async def test_agents_stanzas_arrive_over_the_wire(world: World, server: ComponentServer) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port)
    await bridge.start()
    await bridge.wait_connected(5)
    conversation = await world.start(await world.visitor(), "Hello")
    before = len(server.stanzas)

    server.inject(
        f"<message from='alice@localhost/laptop' to='c-{conversation.id}@chat.localhost' "
        "type='chat' id='x1'><body>!end</body></message>"
    )

    await server.wait_until(lambda: len(server.stanzas) > before)
    assert world.conv(conversation.id).state is ConversationState.ENDED
    await bridge.stop()


async def test_keeps_trying_while_the_server_is_down(world: World) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bridge = bridge_for(world, port)
    await bridge.start()
    await asyncio.sleep(0.3)
    assert not bridge.connected

    server = ComponentServer(secret=SECRET)
    await server.start(port)
    try:
        await bridge.wait_connected(5)
        assert server.handshakes == 1
    finally:
        await bridge.stop()
        await server.close()


async def test_a_refused_secret_is_retried_with_backoff_and_never_counts_as_connected(
    world: World,
) -> None:
    server = ComponentServer(secret="another secret")
    await server.start()
    bridge = bridge_for(world, server.port)
    try:
        await bridge.start()
        await server.wait_until(lambda: server.connections >= 3)
        assert not bridge.connected
        with pytest.raises(TimeoutError):
            await bridge.wait_connected(0.05)
    finally:
        await bridge.stop()
        await server.close()


async def test_a_silent_server_is_given_up_on_after_the_handshake_timeout(world: World) -> None:
    server = ComponentServer(secret=SECRET, answer_handshake=False)
    await server.start()
    bridge = bridge_for(world, server.port, handshake_timeout=0.2)
    try:
        await bridge.start()
        await server.wait_until(lambda: server.connections >= 2)
        assert not bridge.connected
    finally:
        await bridge.stop()
        await server.close()


async def test_ready_agents_who_do_not_answer_the_probe_become_not_ready(
    world: World, server: ComponentServer
) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port)
    await bridge.start()
    await bridge.wait_connected(5)

    await asyncio.sleep(0.4)

    assert not world.fakes.agents[ALICE].ready
    await bridge.stop()


async def test_presence_answering_the_probe_keeps_the_agent_ready(
    world: World, server: ComponentServer
) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port, presence_relearn_timeout=0.5)
    await bridge.start()
    await bridge.wait_connected(5)

    server.inject("<presence from='alice@localhost/laptop' to='support@chat.localhost'/>")
    await asyncio.sleep(0.7)

    assert world.fakes.agents[ALICE].ready
    await bridge.stop()


async def test_stop_writes_delivery_cursors(world: World, server: ComponentServer) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port, delivery_flush_interval=3600)
    await bridge.start()
    await bridge.wait_connected(5)
    conversation = await world.start(await world.visitor(), "Hello")
    await server.wait_until(lambda: bodies(server.stanzas))

    await bridge.stop()

    stored = world.conv(conversation.id)
    assert stored.agent_delivered_seq == stored.last_seq


async def test_start_twice_is_a_bug(world: World, server: ComponentServer) -> None:
    bridge = bridge_for(world, server.port)
    await bridge.start()
    try:
        with pytest.raises(RuntimeError):
            await bridge.start()
    finally:
        await bridge.stop()


async def test_visitor_typing_goes_over_the_wire(world: World, server: ComponentServer) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(world, server.port)
    await bridge.start()
    await bridge.wait_connected(5)
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
    await bridge.stop()


async def test_stop_on_a_link_that_went_silent_keeps_the_cursors_for_a_replay(
    world: World, server: ComponentServer
) -> None:
    await subscribed_alice(world)
    bridge = bridge_for(
        world, server.port, delivery_flush_interval=3600, delivery_confirm_timeout=0.3
    )
    await bridge.start()
    await bridge.wait_connected(5)
    server.silent = True
    conversation = await world.start(await world.visitor(), "Hello into the void")
    await asyncio.sleep(0.05)

    await bridge.stop()

    # Nothing confirmed that the server read the offer: the next start must send it.
    stored = world.conv(conversation.id)
    assert stored.agent_delivered_seq < stored.last_seq
    pending = await world.delivery.pending_agent_deliveries()
    assert [p.conversation.id for p in pending] == [conversation.id]
