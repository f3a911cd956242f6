"""Presence subscriptions at queue JIDs, and agents' availability from their presence."""

from __future__ import annotations

import pytest

from business.commands import SetAgentAvailability
from business.model import AgentId, ConversationState, QueueName
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    ALICE_JID,
    BOB,
    BOB_JID,
    SALES,
    SUPPORT,
    Harness,
    assert_xml,
    body_of,
    canonical,
    harness,
)
from xmpp_bridge.converters import stanza_to_xml
from xmpp_bridge.subscriptions import Subscription, SubscriptionStore


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


def sub(world: World, address: str = ALICE_JID, queue: QueueName = SUPPORT) -> Subscription | None:
    """The stored subscription of an agent's address, read straight from the fake store."""
    if not any(key == f"{address} {queue}" for _, key in world.fakes.adapter_state):
        return None
    stored = [v for (_, key), v in world.fakes.adapter_state.items() if key == f"{address} {queue}"]
    return Subscription(
        address=address,
        queue=queue,
        agent_sees_queue=stored[0]["agent_sees_queue"] is True,
        queue_sees_agent=stored[0]["queue_sees_agent"] is True,
    )


async def save_sub(world: World, subscription: Subscription) -> None:
    await SubscriptionStore(world.adapter_state).save(subscription)


def ready(world: World, agent: AgentId = ALICE) -> bool:
    return world.fakes.agents[agent].ready


def presence_from(
    agent: str, to: str = "support@chat.localhost", attrs: str = "", children: str = ""
) -> str:
    return f'<presence from="{agent}" to="{to}"{attrs}>{children}</presence>'


def sent_presences(h: Harness) -> list[str]:
    return [canonical(stanza_to_xml(s)) for s in h.sender.take()]


def queue_presence(kind: str | None, to: str = "alice@localhost", queue: str = "support") -> str:
    type_attr = f' type="{kind}"' if kind else ""
    nick = (
        f'<nick xmlns="http://jabber.org/protocol/nick">{queue}</nick>'
        if kind == "subscribe"
        else ""
    )
    return canonical(
        f'<presence from="{queue}@chat.localhost" to="{to}"{type_attr}>{nick}</presence>'
    )


async def test_agent_subscribing_to_their_queue_is_accepted_and_asked_back(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost", attrs=' type="subscribe"'))

    assert sent_presences(h) == [
        queue_presence("subscribed"),
        queue_presence(None),
        queue_presence("subscribe"),
    ]
    assert sub(h.world) == Subscription(address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True)


async def test_no_request_back_when_the_queue_already_sees_the_agent(h: Harness) -> None:
    await h.world.add_agent(ALICE)
    await save_sub(h.world, Subscription(address=ALICE_JID, queue=SUPPORT, queue_sees_agent=True))

    await h.receive(presence_from("alice@localhost", attrs=' type="subscribe"'))

    assert sent_presences(h) == [queue_presence("subscribed"), queue_presence(None)]


async def test_agent_approving_the_queue_is_remembered_and_probed(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost", attrs=' type="subscribed"'))

    assert sent_presences(h) == [queue_presence("probe")]
    assert sub(h.world) == Subscription(address=ALICE_JID, queue=SUPPORT, queue_sees_agent=True)


@pytest.mark.parametrize("kind", ["subscribe", "probe"])
async def test_strangers_are_refused(h: Harness, kind: str) -> None:
    await h.receive(presence_from("eve@localhost", attrs=f' type="{kind}"'))

    assert sent_presences(h) == [queue_presence("unsubscribed", to="eve@localhost")]
    assert h.world.fakes.adapter_state == {}


async def test_agents_are_refused_at_queues_that_are_not_theirs(h: Harness) -> None:
    await h.world.add_agent(ALICE, SUPPORT)

    await h.receive(
        presence_from("alice@localhost", to="sales@chat.localhost", attrs=' type="subscribe"')
    )

    assert sent_presences(h) == [queue_presence("unsubscribed", queue="sales")]


async def test_probe_is_answered_from_the_database_not_a_memory(h: Harness) -> None:
    await h.world.add_agent(ALICE)
    await save_sub(h.world, Subscription(address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True))

    await h.receive(presence_from("alice@localhost", attrs=' type="probe"'))

    assert sent_presences(h) == [queue_presence(None)]


async def test_probe_from_an_agent_the_database_forgot_restores_the_subscription(
    h: Harness,
) -> None:
    # The agent's server only probes contacts its user is subscribed to: answering
    # 'unsubscribed' here would cancel a subscription that is really there.
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost", attrs=' type="probe"'))

    assert sent_presences(h) == [queue_presence(None)]
    assert sub(h.world) == Subscription(address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True)


async def test_unsubscribe_is_recorded_and_the_queue_goes_offline_for_the_agent(
    h: Harness,
) -> None:
    await h.world.add_agent(ALICE)
    await save_sub(
        h.world,
        Subscription(
            address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True, queue_sees_agent=True
        ),
    )

    await h.receive(presence_from("alice@localhost", attrs=' type="unsubscribe"'))

    assert sent_presences(h) == [queue_presence("unavailable")]
    assert sub(h.world) == Subscription(
        address=ALICE_JID, queue=SUPPORT, agent_sees_queue=False, queue_sees_agent=True
    )


async def test_agent_revoking_the_queue_makes_them_not_ready(h: Harness) -> None:
    await h.world.add_agent(ALICE, ready=True)
    await save_sub(h.world, Subscription(address=ALICE_JID, queue=SUPPORT, queue_sees_agent=True))

    await h.receive(presence_from("alice@localhost", attrs=' type="unsubscribed"'))

    assert sub(h.world) == Subscription(address=ALICE_JID, queue=SUPPORT)
    # Their presence can no longer be seen, so their availability is unknown.
    assert not ready(h.world)


async def test_revoking_one_queue_keeps_availability_seen_through_another(h: Harness) -> None:
    await h.world.add_agent(ALICE, SUPPORT, SALES, ready=True)
    for queue in (SUPPORT, SALES):
        await save_sub(h.world, Subscription(address=ALICE_JID, queue=queue, queue_sees_agent=True))

    await h.receive(presence_from("alice@localhost", attrs=' type="unsubscribed"'))

    assert ready(h.world)


@pytest.mark.parametrize(
    ("children", "attrs", "expected"),
    [
        ("", "", True),
        ("<show>chat</show>", "", True),
        ("<show>away</show>", "", False),
        ("<show>xa</show>", "", False),
        ("<show>dnd</show>", "", False),
        ("", ' type="unavailable"', False),
    ],
)
async def test_presence_sets_availability(
    world: World, children: str, attrs: str, expected: bool
) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=not expected)

    await h.receive(presence_from("alice@localhost/laptop", attrs=attrs, children=children))

    assert ready(world) is expected


async def test_away_counts_as_ready_when_configured(world: World) -> None:
    h = harness(world, away_is_ready=True)
    await world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost/laptop", children="<show>away</show>"))

    assert ready(world)


async def test_an_away_phone_does_not_hide_an_online_laptop(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost/laptop"))
    await h.receive(presence_from("alice@localhost/phone", children="<show>away</show>"))
    assert ready(h.world)

    await h.receive(presence_from("alice@localhost/laptop", attrs=' type="unavailable"'))
    assert not ready(h.world)


async def test_presence_of_strangers_changes_nothing(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("eve@localhost/x"))
    await h.receive(presence_from("alice@localhost/x", to="sales@chat.localhost"))

    assert not ready(h.world)
    assert "eve@localhost" not in h.world.fakes.agents


async def test_agent_coming_online_gets_the_waiting_chat_offered(h: Harness) -> None:
    await h.world.add_agent(ALICE)
    conversation = await h.world.start(await h.world.visitor(), "Anyone there?")
    assert conversation.state is ConversationState.QUEUED

    await h.receive(presence_from("alice@localhost/laptop"))

    assert h.world.conv(conversation.id).agent_id == ALICE
    [offer] = await h.messages()
    assert offer.xml.attrib["from"] == f"c-{conversation.id}@chat.localhost"
    assert offer.xml.attrib["to"] == ALICE_JID
    assert "[Vera] Anyone there?" in (body_of(offer) or "")


async def test_connect_announces_queues_probes_agents_and_asks_for_missing_subscriptions(
    h: Harness,
) -> None:
    await h.world.add_agent(ALICE, SUPPORT, SALES)
    await h.world.add_agent(BOB, SUPPORT)
    await save_sub(
        h.world,
        Subscription(
            address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True, queue_sees_agent=True
        ),
    )
    await save_sub(h.world, Subscription(address=BOB_JID, queue=SUPPORT, agent_sees_queue=True))

    await h.roster.on_connected()

    assert sent_presences(h) == [
        queue_presence(None),
        queue_presence("probe"),
        queue_presence("subscribe", queue="sales"),
        queue_presence(None, to="bob@localhost"),
        queue_presence("subscribe", to="bob@localhost"),
    ]


async def test_ready_agents_who_stay_silent_after_a_reconnect_become_not_ready(
    h: Harness,
) -> None:
    await h.world.add_agent(ALICE, ready=True)
    await h.world.add_agent(BOB, ready=True)
    for address in (ALICE_JID, BOB_JID):
        await save_sub(h.world, Subscription(address=address, queue=SUPPORT, queue_sees_agent=True))
    await h.roster.on_connected()

    await h.receive(presence_from("alice@localhost/laptop"))
    await h.roster.expire_unconfirmed()

    assert ready(h.world, ALICE)
    assert not ready(h.world, BOB)


async def test_presence_is_relearned_after_a_reconnect(h: Harness) -> None:
    await h.world.add_agent(ALICE)
    await h.receive(presence_from("alice@localhost/laptop"))
    # Meanwhile something else (say, an admin) set the agent not ready.
    await h.world.agents.set_availability(SetAgentAvailability(agent_id=ALICE, ready=False))
    h.reconnect()

    await h.receive(presence_from("alice@localhost/laptop"))

    assert ready(h.world)


async def test_stopping_tells_subscribed_agents_the_queue_goes_offline(h: Harness) -> None:
    await h.world.add_agent(ALICE)
    await h.world.add_agent(BOB)
    await save_sub(h.world, Subscription(address=ALICE_JID, queue=SUPPORT, agent_sees_queue=True))
    await save_sub(h.world, Subscription(address=BOB_JID, queue=SUPPORT))

    await h.roster.on_stopping()

    assert sent_presences(h) == [queue_presence("unavailable")]


async def test_queue_presence_xml(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(presence_from("alice@localhost", attrs=' type="subscribe"'))

    subscribed = h.sender.take()[0]
    assert_xml(
        subscribed,
        '<presence from="support@chat.localhost" to="alice@localhost" type="subscribed"/>',
    )
