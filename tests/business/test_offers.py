"""Offers (AGENT-DESK.md, Offers): a routed chat is offered, not pushed.

The offered agent takes it by writing to the visitor or with ``accept``, passes it with
``decline``; an offer nobody answers times out, goes to the next agent and sets the
silent one not ready. The visitor keeps their place and sees the agent join only on
acceptance; nothing of the offer takes a visitor ``seq``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import (
    DeskEvent,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    ParticipantJoined,
    StateChanged,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
)
from business.offers import OfferClock
from data import Database
from tests.harness import ALICE, BOB, SALES, World, make_world

QUEUED = ConversationState.QUEUED
ACTIVE = ConversationState.ACTIVE


async def offering_agent(world: World, agent_id: AgentId, *, max_chats: int = 2) -> None:
    await world.agent(agent_id, max_chats=max_chats, auto_accept=False)


def visible(world: World, conv: Conversation) -> list[object]:
    return [e for e in world.published(conv.id) if not isinstance(e, DeskEvent)]


async def test_a_routed_chat_is_offered_and_the_visitor_sees_nothing_of_it(
    engine: World,
) -> None:
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor(), text="hello")

    assert conv.state is QUEUED
    assert conv.offered_to == ALICE
    assert conv.agent_id is None
    assert conv.offer_expires_at is not None
    assert (conv.offer_expires_at - engine.clock.now()).total_seconds() == 20
    [offer] = [e for e in engine.stored(conv.id) if isinstance(e, OfferMade)]
    assert offer.agent.id == ALICE
    # The offer carries what came before it: delivery to Alice starts there.
    assert engine.conv(conv.id).agent_delivered_pos == offer.pos - 1
    assert not any(isinstance(e, ParticipantJoined) for e in visible(engine, conv))
    synced = await engine.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    assert [e.seq for e in synced.events] == [1, 2]


async def test_accept_makes_the_chat_active_and_only_then_the_visitor_sees_the_join(
    engine: World,
) -> None:
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor(), text="hello")

    accepted = await engine.services.offers.accept(
        c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id)
    )

    assert accepted.state is ACTIVE
    assert accepted.agent_id == ALICE
    assert accepted.offered_to is None
    joined, active = visible(engine, conv)[-2:]
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant.id == ALICE
    assert isinstance(active, StateChanged)
    assert active.state is ACTIVE
    assert (joined.seq, active.seq) == (3, 4)
    [closed] = [e for e in engine.stored(conv.id) if isinstance(e, OfferClosed)]
    assert closed.outcome is OfferOutcome.ACCEPTED


async def test_writing_to_the_visitor_accepts_and_delivers_the_message(engine: World) -> None:
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor(), text="hello")

    message = await engine.agent_says(ALICE, conv.id, "Hi, I am Alice", stanza_id="s1")

    after = engine.conv(conv.id)
    assert after.state is ACTIVE
    assert after.agent_id == ALICE
    assert message.text == "Hi, I am Alice"
    assert [type(e).__name__ for e in visible(engine, conv)][-3:] == [
        "ParticipantJoined",
        "StateChanged",
        "MessagePosted",
    ]
    # A resent stanza is the same message, not a second one.
    again = await engine.agent_says(ALICE, conv.id, "Hi, I am Alice", stanza_id="s1")
    assert again == message


async def test_decline_passes_it_on_and_never_back_to_the_same_agent_next(
    engine: World,
) -> None:
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor(), text="hello")

    await engine.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=conv.id))

    # Nobody else is ready: the chat waits rather than going back to Alice.
    after = engine.conv(conv.id)
    assert after.state is QUEUED
    assert after.offered_to is None
    assert after.last_offered_to == ALICE
    await offering_agent(engine, BOB)
    assert engine.conv(conv.id).offered_to == BOB
    closed = [e for e in engine.stored(conv.id) if isinstance(e, OfferClosed)]
    assert [(e.agent.id, e.outcome) for e in closed] == [(ALICE, OfferOutcome.DECLINED)]


async def test_an_unanswered_offer_times_out_goes_on_and_the_agent_is_not_ready(
    engine: World,
) -> None:
    await offering_agent(engine, ALICE)
    await offering_agent(engine, BOB)
    conv = await engine.start(await engine.visitor(), text="hello")
    first = engine.conv(conv.id).offered_to
    assert first is not None
    second = BOB if first == ALICE else ALICE

    engine.advance(19)
    assert await engine.services.offers.expire_due() == 0
    engine.advance(1)
    assert await engine.services.offers.expire_due() == 1

    after = engine.conv(conv.id)
    assert after.offered_to == second
    assert engine.fakes.agents[first].ready is False
    assert engine.fakes.agents[second].ready is True
    closed = [e for e in engine.stored(conv.id) if isinstance(e, OfferClosed)]
    assert [(e.agent.id, e.outcome) for e in closed] == [(first, OfferOutcome.TIMED_OUT)]
    # Too late to take it now, and nothing changes.
    with pytest.raises(Forbidden, match="not offered to you"):
        await engine.services.offers.accept(c.AcceptOffer(agent_id=first, conversation_id=conv.id))
    # Ready again, the silent agent gets the next chat.
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=first, ready=True))
    other = await engine.start(await engine.visitor(), text="me too")
    assert other.offered_to == first


async def test_the_queue_sets_the_offer_timeout(engine: World) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, offer_timeout=5)
    )
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor())
    engine.advance(5)
    assert await engine.services.offers.expire_due() == 1
    assert engine.conv(conv.id).offered_to is None


async def test_an_open_offer_takes_a_place_of_the_agents_capacity(engine: World) -> None:
    await offering_agent(engine, ALICE, max_chats=1)
    first = await engine.start(await engine.visitor())
    engine.advance(1)
    second = await engine.start(await engine.visitor())
    assert first.offered_to == ALICE
    assert second.offered_to is None
    assert engine.conv(second.id).queue_position == 2


async def test_a_chat_ended_while_offered_withdraws_the_offer(engine: World) -> None:
    await offering_agent(engine, ALICE, max_chats=1)
    conv = await engine.start(await engine.visitor())
    waiting = await engine.start(await engine.visitor())
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    closed = [e for e in engine.stored(conv.id) if isinstance(e, OfferClosed)]
    assert [e.outcome for e in closed] == [OfferOutcome.WITHDRAWN]
    assert engine.conv(conv.id).offered_to is None
    # Alice's place is free again: the waiting chat is offered to her.
    assert engine.conv(waiting.id).offered_to == ALICE


async def test_only_the_offered_agent_may_take_or_pass_it(engine: World) -> None:
    await offering_agent(engine, ALICE)
    await engine.agent(BOB, ready=False)
    conv = await engine.start(await engine.visitor())
    with pytest.raises(Forbidden):
        await engine.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    with pytest.raises(Forbidden):
        await engine.services.offers.decline(c.DeclineOffer(agent_id=BOB, conversation_id=conv.id))
    await engine.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    with pytest.raises(InvalidTransition, match="already have"):
        await engine.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    assert engine.conv(conv.id).agent_id == ALICE


async def test_an_offer_outlives_a_restart_and_times_out_after_it(database: Database) -> None:
    before = await make_world(uow=database.unit_of_work)
    await before.agent(ALICE, auto_accept=False)
    await before.agent(BOB, auto_accept=False)
    conv = await before.start(await before.visitor(), text="hello")
    offered = await before.conversations.get_conversation(conv.id)
    first = offered.offered_to
    assert first is not None

    # A new process on the same database, its clock past the deadline.
    database.caches.clear()
    after = await make_world(uow=database.unit_of_work, clock=before.clock)
    after.advance(21)
    assert await after.services.offers.expire_due() == 1
    moved = await after.conversations.get_conversation(conv.id)
    assert moved.offered_to not in (None, first)
    assert moved.last_offered_to == first
    agent = await after.agents.get_agent(first)
    assert agent is not None
    assert agent.ready is False
    history = await after.history.history(conv.id)
    assert [type(e) for e in history if isinstance(e, DeskEvent)] == [
        OfferMade,
        OfferClosed,
        OfferMade,
    ]


@pytest.mark.parametrize("by_writing", [False, True])
async def test_taking_an_offer_moves_the_visitors_behind_up(
    engine: World, by_writing: bool
) -> None:
    await offering_agent(engine, ALICE, max_chats=1)
    first = await engine.start(await engine.visitor())
    engine.advance(1)
    second = await engine.start(await engine.visitor())
    assert engine.conv(second.id).queue_position == 2

    if by_writing:
        await engine.agent_says(ALICE, first.id, "Hello!")
    else:
        await engine.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=first.id))

    assert engine.conv(first.id).state is ACTIVE
    assert engine.conv(second.id).queue_position == 1


async def test_a_declined_offer_frees_the_agents_place_in_their_other_queues(
    engine: World,
) -> None:
    await engine.agent(ALICE, max_chats=1, queues=(DEFAULT_QUEUE, SALES), auto_accept=False)
    support = await engine.start(await engine.visitor())
    engine.advance(1)
    sales = await engine.start(await engine.visitor(), queue=SALES)
    assert engine.conv(support.id).offered_to == ALICE
    assert engine.conv(sales.id).offered_to is None

    await engine.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=support.id))

    assert engine.conv(sales.id).offered_to == ALICE


async def test_offers_get_their_full_time_again_when_they_can_reach_agents(
    engine: World,
) -> None:
    await offering_agent(engine, ALICE)
    conv = await engine.start(await engine.visitor())
    engine.advance(30)  # the link was down meanwhile: nobody saw the offer

    assert await engine.services.offers.grant_time() == 1

    assert await engine.services.offers.expire_due() == 0
    engine.advance(19)
    assert await engine.services.offers.expire_due() == 0
    engine.advance(1)
    assert await engine.services.offers.expire_due() == 1
    assert engine.conv(conv.id).offered_to is None


async def test_a_clock_gives_time_again_only_to_the_offers_it_is_told(engine: World) -> None:
    """With other engine processes running, only the offers of the chats this process
    delivers could not reach agents while its link was down: the others keep their
    deadlines when its clock becomes active again."""
    await offering_agent(engine, ALICE)
    await offering_agent(engine, BOB)
    mine = await engine.start(await engine.visitor())
    theirs = await engine.start(await engine.visitor())
    assert {mine.offered_to, theirs.offered_to} == {ALICE, BOB}
    before = engine.conv(theirs.id).offer_expires_at
    engine.advance(15)  # 5 s left
    asked: list[ConversationId] = []

    def grant_to(conversation_id: ConversationId) -> bool:
        asked.append(conversation_id)
        return conversation_id == mine.id

    clock = OfferClock(engine.services.offers, interval=0.01, grant_to=grant_to)
    clock.start()
    try:
        loop = asyncio.get_running_loop()
        until = loop.time() + 30
        while engine.conv(mine.id).offer_expires_at != engine.clock.now() + timedelta(seconds=20):
            assert loop.time() < until, "the clock gave the offer no time"
            await asyncio.sleep(0.01)
    finally:
        await clock.stop()

    assert set(asked) == {mine.id, theirs.id}
    assert engine.conv(theirs.id).offer_expires_at == before
