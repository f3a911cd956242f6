from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from business import commands as c
from business.events import (
    MessagePosted,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    ParticipantJoined,
    StateChanged,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    Agent,
    AgentId,
    ConversationState,
    ParticipantKind,
)
from business.routing import choose_agent
from tests.business.locking import LockingDatabase
from tests.harness import (
    ALICE,
    BOB,
    CAROL,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ACTIVE, QUEUED = ConversationState.ACTIVE, ConversationState.QUEUED


# -- choose_agent -----------------------------------------------------------------------


def make_agent(
    jid: str,
    *,
    ready: bool = True,
    max_chats: int = 2,
    ready_since: datetime | None = T0,
    last_routed_at: datetime | None = None,
) -> Agent:
    return Agent(
        id=AgentId(jid),
        tenant_id=DEFAULT_TENANT,
        address=jid,
        name=jid.partition("@")[0],
        max_chats=max_chats,
        queues=(DEFAULT_QUEUE,),
        ready=ready,
        ready_since=ready_since,
        last_routed_at=last_routed_at,
    )


def test_nobody_gets_a_chat_when_no_agent_is_ready() -> None:
    agents = [make_agent("a@x", ready=False), make_agent("b@x", ready=False)]
    assert choose_agent(agents, {}) is None


def test_only_ready_agents_get_chats() -> None:
    agents = [make_agent("a@x", ready=False), make_agent("b@x")]
    chosen = choose_agent(agents, {})
    assert chosen is not None
    assert chosen.id == "b@x"


def test_an_agent_at_capacity_gets_no_more_chats() -> None:
    agents = [make_agent("a@x", max_chats=2), make_agent("b@x", max_chats=1)]
    assert choose_agent(agents, {AgentId("a@x"): 2, AgentId("b@x"): 1}) is None
    chosen = choose_agent(agents, {AgentId("a@x"): 1, AgentId("b@x"): 1})
    assert chosen is not None
    assert chosen.id == "a@x"


def test_the_least_busy_agent_goes_first_even_if_idle_for_less_time() -> None:
    long_idle = make_agent("a@x", ready_since=T0)
    short_idle = make_agent("b@x", ready_since=T0 + timedelta(hours=1))
    chosen = choose_agent([long_idle, short_idle], {AgentId("a@x"): 1})
    assert chosen is not None
    assert chosen.id == "b@x"


def test_among_equally_busy_agents_the_longest_idle_goes_first() -> None:
    routed_lately = make_agent("a@x", ready_since=T0, last_routed_at=T0 + timedelta(minutes=30))
    ready_later = make_agent("b@x", ready_since=T0 + timedelta(minutes=10))
    chosen = choose_agent([routed_lately, ready_later], {})
    assert chosen is not None
    assert chosen.id == "b@x"


def test_equal_agents_are_chosen_by_jid_whatever_the_order_given() -> None:
    agents = [make_agent("c@x"), make_agent("a@x"), make_agent("b@x")]
    for order in (agents, agents[::-1], agents[1:] + agents[:1]):
        chosen = choose_agent(order, {})
        assert chosen is not None
        assert chosen.id == "a@x"


# -- Router.dispatch --------------------------------------------------------------------


async def test_a_waiting_chat_goes_to_an_agent_who_becomes_ready(engine: World) -> None:
    await engine.agent(ALICE, name="Alice", ready=False)
    visitor = await engine.visitor()
    conv = await engine.start(visitor, text="Where is my parcel?")
    assert conv.state is QUEUED
    assert conv.queue_position == 1

    engine.advance(30)
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))

    after = engine.conv(conv.id)
    assert after.state is ACTIVE
    assert after.agent_id == ALICE
    assert after.agent_name == "Alice"
    assert after.assigned_at == engine.clock.now()
    assert after.queue_position is None
    queued, message, offer, taken, joined, active = engine.stored(conv.id)
    assert isinstance(queued, StateChanged)
    assert queued.state is QUEUED
    assert isinstance(message, MessagePosted)
    assert isinstance(offer, OfferMade)
    assert offer.agent.id == ALICE
    assert isinstance(taken, OfferClosed)
    assert taken.outcome is OfferOutcome.ACCEPTED
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant.kind is ParticipantKind.AGENT
    assert joined.participant.name == "Alice"
    assert isinstance(active, StateChanged)
    assert active.state is ACTIVE
    assert active.queue_position is None
    # The offer carries the waiting messages: delivery starts there.
    assert after.agent_delivered_pos == offer.pos - 1 == message.pos
    assert engine.published(conv.id)[-4:] == [offer, taken, joined, active]
    assert_store_consistent(engine.fakes)
    assert_published_once(engine)


async def test_a_chat_started_while_an_agent_is_ready_is_assigned_at_once(
    engine: World,
) -> None:
    await engine.agent(ALICE)
    conv = await engine.start(await engine.visitor())
    assert conv.state is ACTIVE
    assert conv.agent_id == ALICE
    assert [type(e) for e in engine.stored(conv.id)] == [
        StateChanged,
        OfferMade,
        OfferClosed,
        ParticipantJoined,
        StateChanged,
    ]
    assert conv.agent_delivered_pos == 1


async def test_no_ready_agent_leaves_the_chat_queued(engine: World) -> None:
    await engine.agent(ALICE, ready=False)
    await engine.agent(BOB, queues=[SALES])
    conv = await engine.start(await engine.visitor())
    await engine.router.dispatch(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert engine.conv(conv.id).state is QUEUED
    assert engine.conv(conv.id).agent_id is None
    assert engine.positions(conv.id) == [1]
    assert not any(isinstance(e, ParticipantJoined) for e in engine.stored(conv.id))


async def test_queue_positions_move_up_and_unchanged_ones_are_not_resent(
    engine: World,
) -> None:
    await engine.agent(ALICE, max_chats=1, ready=False)
    convs = []
    for _ in range(3):
        convs.append(await engine.start(await engine.visitor()))
        engine.advance(10)
    assert [engine.positions(cv.id) for cv in convs] == [[1], [2], [3]]

    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))

    first, second, third = (engine.conv(cv.id) for cv in convs)
    assert first.state is ACTIVE
    assert (second.queue_position, third.queue_position) == (1, 2)
    assert engine.positions(second.id) == [2, 1]
    assert engine.positions(third.id) == [3, 2]

    # A newcomer joins the back of the queue: nobody else's position changed.
    before = {cv.id: engine.conv(cv.id).last_seq for cv in convs}
    fourth = await engine.start(await engine.visitor())
    assert fourth.queue_position == 3
    assert {cv.id: engine.conv(cv.id).last_seq for cv in convs} == before
    assert_store_consistent(engine.fakes)
    assert_published_once(engine)


async def test_capacity_counts_chats_of_every_queue(engine: World) -> None:
    await engine.agent(ALICE, queues=[DEFAULT_QUEUE, SALES], max_chats=2)
    support = await engine.start(await engine.visitor())
    sales = await engine.start(await engine.visitor(), queue=SALES)
    third = await engine.start(await engine.visitor())
    assert (support.agent_id, sales.agent_id) == (ALICE, ALICE)
    assert third.state is QUEUED
    assert third.queue_position == 1


async def test_an_agent_only_gets_chats_of_their_queues(engine: World) -> None:
    await engine.agent(ALICE, queues=[SALES])
    conv = await engine.start(await engine.visitor())
    assert conv.state is QUEUED


async def test_the_least_busy_agent_gets_the_next_chat(engine: World) -> None:
    await engine.agent(ALICE, max_chats=3)
    engine.advance(60)
    await engine.agent(BOB, max_chats=3)
    engine.advance(60)
    first = await engine.start(await engine.visitor())
    engine.advance(10)
    second = await engine.start(await engine.visitor())
    engine.advance(10)
    third = await engine.start(await engine.visitor())
    # Alice was idle longest; then Bob has fewer chats (though Alice became ready first);
    # then both have one and Alice got hers longer ago.
    assert [first.agent_id, second.agent_id, third.agent_id] == [ALICE, BOB, ALICE]


async def test_the_agent_idle_longest_gets_the_next_chat(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1)
    engine.advance(60)
    await engine.agent(BOB, max_chats=1)
    engine.advance(60)
    first = await engine.start(await engine.visitor())
    assert first.agent_id == ALICE
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=first.id)
    )
    engine.advance(60)
    # Alice is free again but just had a chat; Bob has been idle since he became ready.
    second = await engine.start(await engine.visitor())
    assert second.agent_id == BOB
    assert engine.fakes.agents[BOB].last_routed_at == engine.clock.now()


async def test_the_longest_waiting_chat_is_assigned_first(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1, ready=False)
    early = await engine.start(await engine.visitor())
    engine.advance(5)
    late = await engine.start(await engine.visitor())
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))
    assert engine.conv(early.id).state is ACTIVE
    assert engine.conv(late.id).state is QUEUED
    assert engine.conv(late.id).queue_position == 1


async def test_a_chat_ended_by_the_visitor_frees_the_slot_for_the_next(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1)
    first = await engine.start(await engine.visitor())
    waiting = await engine.start(await engine.visitor())
    assert waiting.state is QUEUED
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    assert engine.conv(waiting.id).state is ACTIVE
    assert engine.conv(waiting.id).agent_id == ALICE
    assert_store_consistent(engine.fakes)


async def test_a_chat_ended_by_the_agent_frees_the_slot_for_the_next(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1)
    first = await engine.start(await engine.visitor())
    waiting = await engine.start(await engine.visitor())
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=first.id)
    )
    assert engine.conv(waiting.id).agent_id == ALICE


async def test_a_freed_slot_takes_a_chat_waiting_in_another_queue_of_the_agent(
    engine: World,
) -> None:
    await engine.agent(ALICE, queues=[DEFAULT_QUEUE, SALES], max_chats=1)
    sales = await engine.start(await engine.visitor(), queue=SALES)
    support = await engine.start(await engine.visitor())
    assert support.state is QUEUED
    await engine.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=sales.id)
    )
    assert engine.conv(support.id).state is ACTIVE
    assert engine.conv(support.id).agent_id == ALICE


async def test_a_visitor_leaving_the_queue_moves_the_others_up(engine: World) -> None:
    first = await engine.start(await engine.visitor())
    second = await engine.start(await engine.visitor())
    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    assert engine.positions(second.id) == [2, 1]
    assert engine.conv(second.id).queue_position == 1


async def test_raising_the_capacity_of_a_ready_agent_routes_waiting_chats(
    engine: World,
) -> None:
    await engine.agent(ALICE, max_chats=1)
    await engine.start(await engine.visitor())
    waiting = await engine.start(await engine.visitor())
    assert waiting.state is QUEUED
    await engine.agent(ALICE, max_chats=2, ready=False)
    assert engine.conv(waiting.id).agent_id == ALICE


async def test_an_agent_going_away_keeps_their_chats_but_gets_no_more(engine: World) -> None:
    await engine.agent(ALICE, max_chats=3)
    mine = await engine.start(await engine.visitor())
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))
    other = await engine.start(await engine.visitor())
    assert engine.conv(mine.id).agent_id == ALICE
    assert other.state is QUEUED


async def test_agents_of_another_tenant_take_no_chats(engine: World) -> None:
    from business.model import TenantId

    other = TenantId("acme")
    await engine.tenants.ensure_tenant(other, name="Acme")
    await engine.agents.add_agent(
        c.AddAgent(
            address=CAROL, agent_id=CAROL, queues=(DEFAULT_QUEUE,), max_chats=5, tenant_id=other
        )
    )
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=CAROL, ready=True))
    conv = await engine.start(await engine.visitor())
    assert conv.state is QUEUED


# -- interleavings (row-locking fake) ---------------------------------------------------


async def locking_engine() -> tuple[World, LockingDatabase]:
    db = LockingDatabase()
    return await make_world(store=db.store, uow=db.uow), db


@pytest.mark.parametrize("delay", range(30))
async def test_an_agent_going_away_during_a_dispatch_stays_away(delay: int) -> None:
    engine, _ = await locking_engine()
    await engine.agent(ALICE, max_chats=5, ready=False)
    await engine.start(await engine.visitor())
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))
    await engine.start(await engine.visitor())

    async def go_away() -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))

    # A third chat is being routed to Alice while her client goes "away".
    third = engine.start(await engine.visitor())
    await asyncio.gather(third, go_away())
    assert engine.fakes.agents[ALICE].ready is False
    fourth = await engine.start(await engine.visitor())
    assert fourth.state is QUEUED
    assert_store_consistent(engine.fakes)


@pytest.mark.parametrize("delay", range(30))
async def test_a_capacity_change_during_a_dispatch_is_kept(delay: int) -> None:
    engine, _ = await locking_engine()
    await engine.agent(ALICE, max_chats=5)

    async def lower_capacity() -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        await engine.agent(ALICE, max_chats=1, ready=False)

    await asyncio.gather(engine.start(await engine.visitor()), lower_capacity())
    assert engine.fakes.agents[ALICE].max_chats == 1
    assert_store_consistent(engine.fakes)


async def test_concurrent_ends_fill_every_freed_slot_once() -> None:
    engine, _ = await locking_engine()
    await engine.agent(ALICE, max_chats=2)
    await engine.agent(BOB, max_chats=2)
    convs = []
    for _ in range(9):
        convs.append(await engine.start(await engine.visitor()))
        engine.advance(1)
    active, waiting = convs[:4], convs[4:]
    assert all(cv.state is ACTIVE for cv in active)
    await asyncio.gather(
        *(
            engine.conversations.end_by_visitor(
                c.EndConversationByVisitor(visitor_id=cv.visitor_id, conversation_id=cv.id)
            )
            for cv in active
        )
    )
    states = [engine.conv(cv.id).state for cv in waiting]
    assert states == [ACTIVE] * 4 + [QUEUED]
    assert engine.conv(waiting[-1].id).queue_position == 1
    assert_store_consistent(engine.fakes)
    assert_published_once(engine)
