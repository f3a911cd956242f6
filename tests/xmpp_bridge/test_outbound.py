"""Outbound delivery: each stored event reaches the agent once, in order, link or no link."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Sequence
from typing import Any

import pytest

from business import commands as c
from business.conversation import Conversation
from business.delivery import PendingDelivery
from business.model import VisitorId
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    ALICE_JID,
    Harness,
    SeenPresence,
    body_of,
    conv_jid,
    fail_once,
    from_agent,
    harness,
    messages,
    presences,
)
from xmpp_bridge.concurrency import Job


async def chat_with_alice(world: World) -> tuple[VisitorId, Conversation]:
    await world.add_agent(ALICE, ready=True)
    visitor = await world.visitor()
    conversation = await world.start(visitor, "Hello")
    assert conversation.agent_id == ALICE
    return visitor, conversation


def delayed(h: Harness) -> list[bool]:
    """Whether each message sent carries its original time (presence is state, not news)."""
    return [s.xml.find("{urn:xmpp:delay}delay") is not None for s in messages(h.sender.sent)]


def cursor(world: World, conversation: Conversation) -> int:
    return world.conv(conversation.id).agent_delivered_pos


def last_pos(world: World, conversation: Conversation) -> int:
    """The pos of the newest stored event, hidden ones (the offer) included: what the
    cursor reaches once everything was handed to the agent."""
    return world.conv(conversation.id).last_pos


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


async def test_agent_gets_the_offer_then_each_visitor_message(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)

    await h.world.visitor_says(visitor, conversation.id, "Are you there?")

    stanzas = await h.delivered()
    # To the agent's XMPP address, which is not their engine id.
    assert {s.xml.get("to") for s in stanzas} == {ALICE_JID}
    said = messages(stanzas)
    offer, message = [body_of(s) or "" for s in said]
    assert offer.startswith("New chat from Vera (queue support")
    assert "[Vera] Hello" in offer
    assert message == "Are you there?"
    # The offer is offer.made, after state.changed queued (pos 1) and "Hello" (pos 2).
    assert said[0].xml.get("id") == f"{conversation.id}-3"


async def test_an_agent_who_takes_offers_at_once_is_told_the_chat_is_theirs(h: Harness) -> None:
    await chat_with_alice(h.world)

    [offer] = await h.bodies()

    assert offer.endswith("This chat is yours: answer here. !help lists commands.")


async def test_cursor_moves_once_the_stanzas_are_handed_over(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.world.visitor_says(visitor, conversation.id, "one")

    await h.flush()

    assert cursor(h.world, conversation) == last_pos(h.world, conversation)


async def test_agents_own_messages_are_not_echoed_but_count_as_delivered(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "Hi!"))
    await h.world.visitor_says(visitor, conversation.id, "Thanks")

    assert await h.bodies() == ["Thanks"]
    await h.flush()
    assert cursor(h.world, conversation) == last_pos(h.world, conversation)


async def test_nothing_is_sent_or_marked_while_the_link_is_down(world: World) -> None:
    h = harness(world, connected=False)
    visitor, conversation = await chat_with_alice(world)
    before = cursor(world, conversation)

    await world.visitor_says(visitor, conversation.id, "hello?")
    await h.flush()

    assert h.sender.take() == []
    assert cursor(world, conversation) == before


async def test_replay_after_reconnect_sends_each_pending_event_once_in_order(
    world: World,
) -> None:
    h = harness(world, connected=False)
    visitor, conversation = await chat_with_alice(world)
    await world.visitor_says(visitor, conversation.id, "first while down")
    await world.visitor_says(visitor, conversation.id, "second while down")
    other_visitor = await world.visitor()
    other = await world.start(other_visitor, "Other chat", client_msg_id="o1")

    h.link.attach(h.sender)
    await h.notifier.replay()

    sent = [(s.xml.attrib["from"], body_of(s)) for s in messages(h.sender.sent)]
    first = f"c-{conversation.id}@chat.localhost"
    second = f"c-{other.id}@chat.localhost"
    assert [who for who, _ in sent] == [first, first, first, second]
    assert sent[1:3] == [(first, "first while down"), (first, "second while down")]
    assert "[Vera] Other chat" in (sent[3][1] or "")
    assert {s.xml.get("to") for s in h.sender.sent} == {ALICE_JID}
    # They are late: each carries its original time.
    assert all(delayed(h))

    await h.delivered()
    await h.flush()
    await h.notifier.replay()
    assert h.sender.take() == []
    assert cursor(world, conversation) == last_pos(world, conversation)


async def test_live_then_replay_after_a_reconnect_neither_loses_nor_repeats(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.flush()
    h.link.detach()
    h.notifier.on_link_lost()
    await h.world.visitor_says(visitor, conversation.id, "missed")
    h.link.attach(h.sender)
    await h.delivered()

    # A live message arrives before the replay gets to this conversation...
    await h.world.visitor_says(visitor, conversation.id, "live")
    # ...and the replay, with its older idea of what is pending, comes after.
    await h.notifier.replay()

    assert await h.bodies() == ["missed", "live"]


async def test_live_events_during_a_slow_replay_are_neither_lost_nor_repeated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness(world, connected=False)
    visitor, conversation = await chat_with_alice(world)
    await world.visitor_says(visitor, conversation.id, "while down")
    gate = asyncio.Event()
    pending_deliveries = world.delivery.pending_agent_deliveries

    async def gated(**given: Any) -> Sequence[PendingDelivery]:
        # The replay's read of pending deliveries is held until the gate opens.
        pending = await pending_deliveries(**given)
        await gate.wait()
        return pending

    monkeypatch.setattr(world.delivery, "pending_agent_deliveries", gated)
    h.link.attach(h.sender)

    replay = asyncio.create_task(h.notifier.replay())
    await asyncio.sleep(0)
    await world.visitor_says(visitor, conversation.id, "during replay")
    gate.set()
    await replay

    texts = await h.bodies()
    assert texts[0].startswith("New chat from Vera")
    assert texts[1:] == ["while down", "during replay"]


async def test_events_published_out_of_order_go_out_in_order(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.delivered()
    h.world.publisher.unsubscribe(h.notifier)
    await h.world.visitor_says(visitor, conversation.id, "one")
    await h.world.visitor_says(visitor, conversation.id, "two")
    latest = h.world.conv(conversation.id)
    two = h.world.fakes.events[conversation.id][-1]

    # "two" is published first; "one" was not delivered yet and is fetched before it.
    await h.notifier.notify(latest, [two])
    await h.notifier.notify(latest, h.world.fakes.events[conversation.id][-2:-1])

    assert await h.bodies() == ["one", "two"]


async def test_an_offer_whose_history_could_not_be_read_is_retried_without_another_event(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness(world)
    fail_once(monkeypatch, world.history, "history", ConnectionError("database hiccup"))
    h.notifier.start()
    try:
        await chat_with_alice(world)
        assert h.sender.sent == []

        # Nothing else happens in the conversation: the delivery loop tries again.
        async with asyncio.timeout(5):
            while True:
                if h.sender.sent:
                    break
                await asyncio.sleep(0.05)

        [offer] = await h.bodies()
        assert offer.startswith("New chat from Vera")
        assert "[Vera] Hello" in offer
    finally:
        await h.notifier.stop()


async def test_visitor_typing_reaches_the_agent_as_chat_states(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.delivered()

    for composing in (True, False):
        await h.world.messaging.set_visitor_typing(
            c.SetVisitorTyping(
                visitor_id=visitor, conversation_id=conversation.id, composing=composing
            )
        )

    stanzas = await h.delivered()
    states = [child.tag.rpartition("}")[2] for s in stanzas for child in s.xml]
    assert states == ["composing", "paused"]
    assert {s.xml.get("to") for s in stanzas} == {ALICE_JID}


async def test_typing_while_queued_goes_nowhere(h: Harness) -> None:
    visitor = await h.world.visitor()
    conversation = await h.world.start(visitor, "anyone?")

    await h.world.messaging.set_visitor_typing(
        c.SetVisitorTyping(visitor_id=visitor, conversation_id=conversation.id, composing=True)
    )

    assert await h.delivered() == []


async def test_agent_is_told_when_the_visitor_leaves(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.delivered()

    await h.world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conversation.id)
    )

    stanzas = await h.delivered()
    said = messages(stanzas)
    assert [body_of(s) for s in said] == [
        "Vera left the chat.",
        "This chat has ended; messages sent here no longer reach anyone.",
    ]
    # After the offer and its acceptance (pos 3 to 6), as pos, not seq (5 and 6).
    assert [s.xml.get("id") for s in said] == [f"{conversation.id}-7", f"{conversation.id}-8"]
    # Then the conversation shows offline.
    assert stanzas[-1] is not said[-1]
    assert presences(stanzas) == [
        SeenPresence(conv_jid(conversation), ALICE_JID, "unavailable", None)
    ]


async def test_with_nothing_pending_a_message_goes_out_without_a_lane(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    await h.delivered()  # the offer, which reads history, goes by the lane
    queued: list[object] = []
    lanes = h.notifier._lanes
    submit = lanes.submit

    def spy(key: Hashable, job: Job) -> None:
        queued.append(key)
        submit(key, job)

    monkeypatch.setattr(lanes, "submit", spy)
    sent = len(h.sender.sent)
    posted = await h.world.visitor_says(visitor, conversation.id, "quick")
    # Handed to the link as it was published, with no task in between.
    assert queued == []
    assert [body_of(s) for s in h.sender.sent[sent:]] == ["quick"]
    await h.flush()
    assert cursor(h.world, conversation) == posted.pos


async def test_behind_pending_work_a_message_waits_its_turn(h: Harness) -> None:
    visitor, conversation = await chat_with_alice(h.world)
    # The offer is still on the lane (its history read has not run): the message must
    # not overtake it.
    await h.world.visitor_says(visitor, conversation.id, "after the offer")
    stanzas = await h.messages()
    bodies = [body_of(s) or "" for s in stanzas]
    assert bodies[0].startswith("New chat from")
    assert bodies[1:] == ["after the offer"]
