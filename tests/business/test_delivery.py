"""Events waiting for the assigned agent and the delivery cursor."""

from __future__ import annotations

from business.events import OfferClosed, OfferMade, ParticipantJoined, StateChanged
from business.model import ConversationId
from tests.business.support import active_chat, nothing_stored
from tests.harness import ALICE, SALES, World

# -- pending deliveries to agents -------------------------------------------------------


async def test_undelivered_events_wait_for_the_agent_in_order(engine: World) -> None:
    waiting = await engine.start(await engine.visitor(), queue=SALES, text="still there?")
    assert await engine.delivery.pending_agent_deliveries() == [], "nobody to deliver to yet"
    conv = await active_chat(engine, text="hi")
    # The offer covers what came before it: pending starts at the offer (taken at once
    # here, so its end, the join and the state follow).
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert pending.conversation.id == conv.id
    assert [type(e) for e in pending.events] == [
        OfferMade,
        OfferClosed,
        ParticipantJoined,
        StateChanged,
    ]
    one = await engine.say(conv, "one", "m1")
    two = await engine.say(conv, "two", "m2")
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert list(pending.events[-2:]) == [one, two]

    await engine.delivery.mark_delivered_to_agent(conv.id, one.pos)
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert list(pending.events) == [two]
    await engine.delivery.mark_delivered_to_agent(conv.id, two.pos)
    assert await engine.delivery.pending_agent_deliveries() == []
    assert engine.conv(waiting.id).agent_delivered_pos == 0


async def test_the_delivery_mark_never_goes_back_nor_past_the_end(engine: World) -> None:
    conv = await active_chat(engine)
    last = engine.conv(conv.id).last_pos
    await engine.delivery.mark_delivered_to_agent(conv.id, 100)
    assert engine.conv(conv.id).agent_delivered_pos == last
    await engine.delivery.mark_delivered_to_agent(conv.id, 1)
    assert engine.conv(conv.id).agent_delivered_pos == last
    with nothing_stored(engine):
        await engine.delivery.mark_delivered_to_agent(ConversationId("gone"), 3)


async def test_the_agents_own_message_is_not_sent_back_to_them(engine: World) -> None:
    conv = await active_chat(engine)
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_pos)
    message = await engine.agent_says(ALICE, conv.id, "Hello")
    assert engine.conv(conv.id).agent_delivered_pos == message.pos
    assert await engine.delivery.pending_agent_deliveries() == []


async def test_the_agents_message_does_not_skip_an_undelivered_visitor_message(
    engine: World,
) -> None:
    conv = await active_chat(engine)
    await engine.delivery.mark_delivered_to_agent(conv.id, engine.conv(conv.id).last_pos)
    question = await engine.say(conv, "Is anyone there?", "m1")
    await engine.agent_says(ALICE, conv.id, "Hello")
    (pending,) = await engine.delivery.pending_agent_deliveries()
    assert pending.events[0] == question
