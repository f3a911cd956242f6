"""A queue's length is capped, and joining it costs the same however long it is."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound, QueueFull
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState, QueueName
from business.validation import Limits
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.harness import ALICE, SALES, World, assert_store_consistent, make_world


async def fill(world: World, count: int, queue: QueueName = DEFAULT_QUEUE) -> None:
    for _ in range(count):
        world.advance(1)
        await world.start(await world.visitor(), queue=queue)


async def test_a_full_queue_refuses_a_start_and_stores_nothing() -> None:
    world = await make_world(limits=Limits(max_queue_waiting=3))
    await fill(world, 3)
    visitor = await world.visitor()
    conversations = len(world.fakes.conversations)
    with pytest.raises(QueueFull, match="try again"):
        await world.start(visitor, text="hello?")
    assert len(world.fakes.conversations) == conversations
    # Other queues are not affected.
    assert (await world.start(visitor, queue=SALES)).state is ConversationState.QUEUED


async def test_a_place_freed_in_the_queue_lets_the_next_visitor_in() -> None:
    world = await make_world(limits=Limits(max_queue_waiting=2))
    await fill(world, 2)
    with pytest.raises(QueueFull):
        await world.start(await world.visitor())
    first = min(world.fakes.conversations.values(), key=lambda conv: conv.created_at)
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    world.advance(1)
    assert (await world.start(await world.visitor())).queue_position == 2
    assert_store_consistent(world.fakes)


async def test_routed_conversations_no_longer_count_as_waiting() -> None:
    world = await make_world(limits=Limits(max_queue_waiting=1))
    world_agent = await world.agent(ALICE, max_chats=5)
    for _ in range(3):
        conv = await world.start(await world.visitor())
        assert conv.agent_id == world_agent
    queue = world.fakes.queues[(DEFAULT_TENANT, DEFAULT_QUEUE)]
    assert queue.waiting == 0


async def test_a_queue_may_have_its_own_limit() -> None:
    world = await make_world(limits=Limits(max_queue_waiting=100))
    queue = await world.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, 1)
    assert queue.max_waiting == 1
    await fill(world, 1)
    with pytest.raises(QueueFull):
        await world.start(await world.visitor())
    await world.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, None)
    await world.start(await world.visitor())


@pytest.mark.parametrize("limit", [0, -3])
async def test_a_queue_limit_below_one_is_refused(limit: int) -> None:
    world = await make_world()
    with pytest.raises(InvalidInput, match="at least 1"):
        await world.tenants.set_queue_limit(DEFAULT_TENANT, DEFAULT_QUEUE, limit)


async def test_the_limit_of_an_unknown_queue_is_not_found() -> None:
    world = await make_world()
    with pytest.raises(NotFound):
        await world.tenants.set_queue_limit(DEFAULT_TENANT, QueueName("nowhere"), 5)


class CountingUnitOfWork(FakeUnitOfWork):
    """Counts the conversations the queue listing hands out."""

    listed = 0

    def _begin(self) -> None:
        super()._begin()
        listing = self.conversations.list_queued

        async def counted(*args: object, **kwargs: object) -> object:
            found = await listing(*args, **kwargs)  # type: ignore[arg-type]
            CountingUnitOfWork.listed += len(found)
            return found

        self.conversations.list_queued = counted  # type: ignore[assignment,method-assign]


@pytest.mark.parametrize("waiting", [10, 60])
async def test_joining_reads_a_bounded_head_of_the_queue_however_long_it_is(waiting: int) -> None:
    store = FakeStore()
    window = 5
    world = await make_world(
        store=store,
        uow=lambda: CountingUnitOfWork(store),
        limits=Limits(queue_position_window=window),
    )
    await fill(world, waiting)
    CountingUnitOfWork.listed = 0
    world.advance(1)
    conv = await world.start(await world.visitor())
    assert conv.queue_position == waiting + 1
    assert CountingUnitOfWork.listed <= window
