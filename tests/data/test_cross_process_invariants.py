"""Two engine stacks on one PostgreSQL database, racing: the invariants that a lock or a
cache of one process cannot keep must hold across processes (issue 12).

Each stack is its own ``Database`` (own pool, own caches) and its own ``Services`` (own
routers, asyncio locks and batchers), as two engine processes have; they share the
clock, so that the order of starts is known. PostgreSQL only: SQLite is one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from business import commands as c
from business.events import MessagePosted, OfferClosed, OfferOutcome
from business.model import (
    DEFAULT_OFFER_TIMEOUT,
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
    QueueName,
)
from business.offline_messages import LeaveOfflineMessage
from business.redaction_settings import ConfigureRedaction
from business.routing import agent_loads
from business.transactions import Transactions
from data import Database
from tests.conftest import open_database
from tests.fakes import FakeClock
from tests.harness import SALES, World, make_world

pytestmark = pytest.mark.postgres

ALICE, BOB = AgentId("alice@example.org"), AgentId("bob@example.org")
CAPACITY = 3
PER_QUEUE = 8
SEEN_WITHIN = 2.0
"""Seconds another stack may take to see a change (the notification's trip, in practice
milliseconds; the caches' TTL is 30 s)."""


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    """Two ``Database`` objects on one schema of the test PostgreSQL database (other
    tests use other schemas of it at the same time: their notifications and locks must
    not reach these)."""
    async with open_database("postgres", tmp_path) as first:
        async with first.begin() as connection:
            schema = (await connection.execute(text("SELECT current_schema()"))).scalar_one()
        second = Database.from_url(
            first.url.render_as_string(hide_password=False),
            connect_args={"server_settings": {"search_path": schema}},
        )
        try:
            await first.listen()
            await second.listen()
            yield first, second
        finally:
            await second.dispose()


@pytest.fixture
async def two_stacks(databases: tuple[Database, Database]) -> tuple[World, World]:
    clock = FakeClock()
    first, second = databases
    one = await make_world(uow=first.unit_of_work, clock=clock)
    return one, await make_world(uow=second.unit_of_work, clock=clock)


async def queue_up(one: World, two: World) -> dict[QueueName, list[ConversationId]]:
    """``PER_QUEUE`` conversations in each of two queues, started alternately through
    each stack, a second apart: the order each queue must be served in."""
    started: dict[QueueName, list[ConversationId]] = {DEFAULT_QUEUE: [], SALES: []}
    for i in range(PER_QUEUE):
        for queue in (DEFAULT_QUEUE, SALES):
            world = (one, two)[i % 2]
            one.advance(1)
            conv = await world.start(await world.visitor(), "hello", queue=queue)
            started[queue].append(conv.id)
    return started


async def loads(world: World) -> dict[AgentId, int]:
    tx = Transactions(world.uow, world.services.publisher)
    async with tx.read() as read:
        agents = await read.agents.list(DEFAULT_TENANT)
        return await agent_loads(read, DEFAULT_TENANT, agents)


async def test_dispatches_on_two_stacks_keep_capacity_and_queue_order(
    two_stacks: tuple[World, World],
) -> None:
    one, two = two_stacks
    for agent in (ALICE, BOB):
        await one.agent(
            agent, queues=(DEFAULT_QUEUE, SALES), max_chats=CAPACITY, ready=False, auto_accept=False
        )
    started = await queue_up(one, two)

    # Both agents come in at once, each through another stack: each readiness
    # dispatches both queues in its own process; more dispatches race beside them.
    await asyncio.gather(
        one.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True)),
        two.agents.set_availability(c.SetAgentAvailability(agent_id=BOB, ready=True)),
        *(
            world.router.dispatch(DEFAULT_TENANT, queue)
            for world in (one, two, two, one)
            for queue in (SALES, DEFAULT_QUEUE)
        ),
    )

    assert await loads(one) == {ALICE: CAPACITY, BOB: CAPACITY}
    async with one.uow() as uow:
        convs = await uow.conversations.get_many(
            [i for ids in started.values() for i in ids], for_update=True
        )
    offered = {i for i, conv in convs.items() if conv.offered_to is not None}
    assert len(offered) == 2 * CAPACITY
    for queue, ids in started.items():
        # Served longest waiting first: the offered ones are the head of each queue...
        served = [i for i in ids if i in offered]
        assert served == ids[: len(served)], queue
        # ...and the others keep their places behind them, numbered without gaps.
        positions = [convs[i].queue_position for i in ids if i not in offered]
        assert positions == list(range(len(served) + 1, len(ids) + 1)), queue
        assert all(convs[i].state is ConversationState.QUEUED for i in ids)


async def test_an_offer_due_on_two_stacks_expires_once(two_stacks: tuple[World, World]) -> None:
    one, two = two_stacks
    await one.agent(ALICE, max_chats=1, auto_accept=False)
    await two.agent(BOB, max_chats=1, auto_accept=False, ready=False)
    conv = await one.start(await one.visitor(), "hello")
    async with one.uow() as uow:
        offered = await uow.conversations.get(conv.id)
    assert offered is not None
    assert offered.offered_to == ALICE
    await two.agents.set_availability(c.SetAgentAvailability(agent_id=BOB, ready=True))
    one.advance(DEFAULT_OFFER_TIMEOUT + 1)

    expired = await asyncio.gather(
        *(world.services.offers.expire_due() for world in (one, two, one, two))
    )

    assert sum(expired) == 1
    async with one.uow() as uow:
        events = await uow.events.list_after_pos(conv.id, 0, 1000)
        # Fresh (a lock reads the row): a stack's cached copy of a conversation another
        # stack changed may be old until it is written again (docs/architecture.md).
        after = await uow.conversations.get(conv.id, for_update=True)
        alice = await uow.agents.get(ALICE)
    timed_out = [
        e for e in events if isinstance(e, OfferClosed) and e.outcome is OfferOutcome.TIMED_OUT
    ]
    assert len(timed_out) == 1
    assert after is not None
    assert after.offered_to == BOB
    assert alice is not None
    assert not alice.ready


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, within: float = SEEN_WITHIN
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"{what} not seen within {within} s"
        await asyncio.sleep(0.02)


async def test_a_capacity_changed_on_one_stack_is_seen_by_the_other(
    two_stacks: tuple[World, World], databases: tuple[Database, Database]
) -> None:
    one, two = two_stacks
    await one.agent(ALICE, max_chats=2)
    seen = await two.agents.get_agent(ALICE)  # the other stack has her in its cache
    assert seen is not None
    assert seen.max_chats == 2
    assert ALICE in databases[1].caches.agents

    await one.services.agent_desk.set_capacity(ALICE, 5)

    async def five() -> bool:
        agent = await two.agents.get_agent(ALICE)
        return agent is not None and agent.max_chats == 5

    await eventually(five, "the new capacity")


async def test_a_redaction_setting_changed_on_one_stack_is_seen_by_the_other(
    two_stacks: tuple[World, World], databases: tuple[Database, Database]
) -> None:
    one, two = two_stacks
    before = await two.services.redaction_settings.get(DEFAULT_TENANT)
    assert DEFAULT_TENANT in databases[1].caches.redaction

    await one.services.redaction_settings.configure(
        ConfigureRedaction(tenant_id=DEFAULT_TENANT, emails=not before.emails)
    )

    async def changed() -> bool:
        settings = await two.services.redaction_settings.get(DEFAULT_TENANT)
        return settings.emails is not before.emails

    await eventually(changed, "the new redaction setting")


async def test_two_offline_messages_of_one_visitor_on_two_stacks_open_one_conversation(
    two_stacks: tuple[World, World],
) -> None:
    one, two = two_stacks
    visitor = await one.visitor()

    def leave(client_msg_id: str) -> LeaveOfflineMessage:
        return LeaveOfflineMessage(
            visitor_id=visitor,
            client_msg_id=client_msg_id,
            name="Vera",
            email="vera@example.org",
            text=f"call me back ({client_msg_id})",
        )

    first, second = await asyncio.gather(
        one.services.offline_messages.leave(leave("tab-1")),
        two.services.offline_messages.leave(leave("tab-2")),
    )

    assert first.id == second.id
    async with one.uow() as uow:
        convs = await uow.conversations.list_for_visitor(visitor)
        messages = [
            e.client_msg_id
            for e in await uow.events.list_after_pos(first.id, 0, 100)
            if isinstance(e, MessagePosted) and e.client_msg_id is not None
        ]
    assert [conv.id for conv in convs if conv.is_open] == [first.id]
    assert sorted(messages) == ["tab-1", "tab-2"]


async def test_a_listener_that_lost_its_connection_listens_again(
    two_stacks: tuple[World, World], databases: tuple[Database, Database]
) -> None:
    one, two = two_stacks
    first, second = databases
    listener = second.listener
    assert listener is not None
    lost = listener.server_pid
    await one.agent(ALICE, max_chats=2)
    assert await two.agents.get_agent(ALICE) is not None
    assert ALICE in second.caches.agents

    async with first.begin() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})

    async def back() -> bool:
        return listener.server_pid not in (None, lost)

    await eventually(back, "a new listening connection", within=10.0)
    # What was cached while nobody listened is gone...
    assert ALICE not in second.caches.agents
    seen = await two.agents.get_agent(ALICE)
    assert seen is not None
    # ...and changes are heard again.
    await one.services.agent_desk.set_capacity(ALICE, 4)

    async def four() -> bool:
        agent = await two.agents.get_agent(ALICE)
        return agent is not None and agent.max_chats == 4

    await eventually(four, "the capacity changed after the reconnection")
