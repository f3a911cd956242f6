"""Presence subscriptions are the bridge's own state, stored through the business layer's
adapter state on the fakes and on both databases."""

from __future__ import annotations

from business.model import DEFAULT_QUEUE, QueueName
from business.ports import UnitOfWorkFactory
from tests.harness import make_world
from xmpp_bridge.subscriptions import ADAPTER, Subscription, SubscriptionStore

SALES = QueueName("sales")


async def test_an_unknown_subscription_is_none_both_ways(uow_factory: UnitOfWorkFactory) -> None:
    world = await make_world(uow=uow_factory)
    store = SubscriptionStore(world.adapter_state)
    sub = await store.get("alice@localhost", DEFAULT_QUEUE)
    assert sub == Subscription(address="alice@localhost", queue=DEFAULT_QUEUE)
    assert not sub.agent_sees_queue
    assert not sub.queue_sees_agent
    assert await world.adapter_state.list(ADAPTER) == []


async def test_subscriptions_are_saved_updated_and_listed(uow_factory: UnitOfWorkFactory) -> None:
    world = await make_world(uow=uow_factory)
    store = SubscriptionStore(world.adapter_state)
    await store.save(Subscription(address="bob@localhost", queue=SALES, agent_sees_queue=True))
    await store.save(
        Subscription(address="alice@localhost", queue=DEFAULT_QUEUE, queue_sees_agent=True)
    )
    bob = await store.get("bob@localhost", SALES)
    updated = await store.update(bob, queue_sees_agent=True)
    assert updated.agent_sees_queue
    assert updated.queue_sees_agent
    assert await store.get("bob@localhost", SALES) == updated
    listed = await store.list()
    assert [(s.address, s.queue) for s in listed] == [
        ("alice@localhost", DEFAULT_QUEUE),
        ("bob@localhost", SALES),
    ]


async def test_an_update_that_changes_nothing_writes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    world = await make_world(uow=uow_factory)
    store = SubscriptionStore(world.adapter_state)
    sub = await store.get("alice@localhost", DEFAULT_QUEUE)
    assert await store.update(sub, agent_sees_queue=False) is sub
    assert await world.adapter_state.list(ADAPTER) == []
