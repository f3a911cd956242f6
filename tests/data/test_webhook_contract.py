"""The webhook repositories' contract (``business.webhook_ports``), on the fakes, SQLite
and PostgreSQL alike: subscriptions per tenant, the cached list the message path reads,
and the outbox's due order, claims, log, paging, requeue and purge."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from business.model import ConversationId
from business.ports import UnitOfWorkFactory
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryId,
    DeliveryStatus,
    SubscriptionId,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from tests.conftest import BACKENDS
from tests.data.contract_support import OTHER_TENANT, TENANT, assert_utc, at
from tests.data.members_support import Store, open_store

SECRET = "whsec_" + "A" * 43 + "="


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def subscription(n: int, **changes: object) -> WebhookSubscription:
    made = WebhookSubscription(
        id=SubscriptionId(f"sub-{n}"),
        tenant_id=TENANT,
        url=f"https://hooks.example.com/{n}",
        secret=SECRET,
        event_types=(WebhookEventType.MESSAGE_CREATED, WebhookEventType.NOTE_CREATED),
        description=f"number {n}",
        created_at=at(n),
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def delivery(
    n: int, sub: int = 1, conv: str = "c-1", pos: int | None = None, **changes: object
) -> WebhookDelivery:
    made = WebhookDelivery(
        id=DeliveryId(f"msg_{n:03d}"),
        tenant_id=TENANT,
        subscription_id=SubscriptionId(f"sub-{sub}"),
        conversation_id=ConversationId(conv),
        pos=n if pos is None else pos,
        event_type=WebhookEventType.MESSAGE_CREATED,
        body='{"type":"message.created","data":{"text":"grüße ✓"}}',
        created_at=at(n),
        queued_at=at(n),
        next_attempt_at=at(n),
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


async def add(store: Store, *items: WebhookSubscription | WebhookDelivery) -> None:
    async with store.uow() as uow:
        for item in items:
            if isinstance(item, WebhookSubscription):
                await uow.webhooks.add(item)
            else:
                await uow.webhook_deliveries.add_many([item])
        await uow.commit()


async def due_ids(
    uow_factory: UnitOfWorkFactory, now: datetime, exclude: tuple[SubscriptionId, ...] = ()
) -> list[str]:
    async with uow_factory() as uow:
        return [d.delivery.id for d in await uow.webhook_deliveries.due(now, 100, exclude=exclude)]


async def test_subscriptions_are_stored_per_tenant(store: Store) -> None:
    rotated = subscription(
        2, previous_secret="whsec_" + "B" * 43 + "=", previous_secret_until=at(100), enabled=False
    )
    theirs = subscription(3, tenant_id=OTHER_TENANT, event_types=())
    await add(store, subscription(1), rotated, theirs)
    store.forget_cache()
    async with store.uow() as uow:
        assert await uow.webhooks.get(TENANT, SubscriptionId("sub-1")) == subscription(1)
        assert await uow.webhooks.get(TENANT, SubscriptionId("sub-3")) is None
        assert await uow.webhooks.list(TENANT) == [subscription(1), rotated]
        assert await uow.webhooks.list(OTHER_TENANT) == [theirs]
        stored = await uow.webhooks.get(TENANT, SubscriptionId("sub-2"))
    assert stored is not None
    assert_utc(stored.previous_secret_until)
    assert_utc(stored.created_at)

    changed = dataclasses.replace(rotated, url="https://other.example.com/", enabled=True)
    async with store.uow() as uow:
        await uow.webhooks.save(changed)
        with pytest.raises(KeyError):
            await uow.webhooks.save(dataclasses.replace(theirs, tenant_id=TENANT))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhooks.get(TENANT, SubscriptionId("sub-2")) == changed
        assert not await uow.webhooks.remove(TENANT, SubscriptionId("sub-3"))
        assert await uow.webhooks.remove(TENANT, SubscriptionId("sub-1"))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhooks.list(TENANT) == [changed]
        assert await uow.webhooks.list(OTHER_TENANT) == [theirs]


async def test_the_enabled_list_follows_every_commit(store: Store) -> None:
    async with store.uow() as uow:
        assert list(await uow.webhooks.enabled_for_tenant(TENANT)) == []  # (now cached)
    await add(store, subscription(1), subscription(2, enabled=False))
    async with store.uow() as uow:
        assert list(await uow.webhooks.enabled_for_tenant(TENANT)) == [subscription(1)]
        # What this unit of work changes, it sees at once; others only once committed.
        await uow.webhooks.save(subscription(2))
        assert len(await uow.webhooks.enabled_for_tenant(TENANT)) == 2
        async with store.uow() as other:
            assert list(await other.webhooks.enabled_for_tenant(TENANT)) == [subscription(1)]
        await uow.commit()
    async with store.uow() as uow:
        assert len(await uow.webhooks.enabled_for_tenant(TENANT)) == 2
        assert list(await uow.webhooks.enabled_for_tenant(OTHER_TENANT)) == []
        await uow.webhooks.remove(TENANT, SubscriptionId("sub-1"))
        await uow.commit()
    async with store.uow() as uow:
        assert list(await uow.webhooks.enabled_for_tenant(TENANT)) == [subscription(2)]


async def test_deliveries_are_stored_as_staged(store: Store) -> None:
    await add(store, subscription(1), delivery(1, part=1))
    store.forget_cache()
    async with store.uow() as uow:
        stored = await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_001"))
        assert await uow.webhook_deliveries.get(OTHER_TENANT, DeliveryId("msg_001")) is None
    assert stored == delivery(1, part=1)
    assert_utc(stored.next_attempt_at)


async def test_due_ones_come_soonest_first_and_each_conversation_in_order(store: Store) -> None:
    await add(
        store,
        subscription(1),
        subscription(2),
        subscription(3, enabled=False),
        # Conversation 1 of subscription 1: positions 5, 5 (second part), 7; the later
        # ones are due sooner, but wait for the earlier.
        delivery(1, conv="c-1", pos=7, next_attempt_at=at(0)),
        delivery(2, conv="c-1", pos=5, part=1, next_attempt_at=at(0)),
        delivery(3, conv="c-1", pos=5, next_attempt_at=at(3)),
        # The same conversation for subscription 2 goes its own way.
        delivery(4, sub=2, conv="c-1", pos=7, next_attempt_at=at(1)),
        delivery(5, conv="c-2", pos=1, next_attempt_at=at(2)),
        delivery(6, conv="c-3", pos=1, next_attempt_at=at(50)),
        delivery(7, sub=3, conv="c-4", pos=1, next_attempt_at=at(0)),
        delivery(8, sub=9, conv="c-5", pos=1, next_attempt_at=at(0)),  # no such subscription
        delivery(9, conv="c-6", pos=1, next_attempt_at=at(0), status=DeliveryStatus.FAILED),
        delivery(10, conv="c-6", pos=2, next_attempt_at=at(4)),  # a failed one holds nothing
    )
    assert await due_ids(store.uow, at(10)) == ["msg_004", "msg_005", "msg_003", "msg_010"]
    assert await due_ids(store.uow, at(2)) == ["msg_004", "msg_005"]
    assert await due_ids(store.uow, at(10), (SubscriptionId("sub-2"),)) == [
        "msg_005",
        "msg_003",
        "msg_010",
    ]
    async with store.uow() as uow:
        (due,) = await uow.webhook_deliveries.due(at(10), 1)
    assert due.url == "https://hooks.example.com/2"
    assert due.secrets == (SECRET,)
    # Once 3 is delivered, 2 (its second part) comes, then 1.
    for finished, expected in (("msg_003", "msg_002"), ("msg_002", "msg_001")):
        await finish(store, finished, DeliveryStatus.DELIVERED)
        assert expected in await due_ids(store.uow, at(10))
        assert finished not in await due_ids(store.uow, at(10))


async def test_a_rotated_secret_signs_beside_the_new_one_until_its_time(store: Store) -> None:
    old = "whsec_" + "B" * 43 + "="
    await add(
        store, subscription(1, previous_secret=old, previous_secret_until=at(20)), delivery(1)
    )
    async with store.uow() as uow:
        (early,) = await uow.webhook_deliveries.due(at(19), 10)
        (late,) = await uow.webhook_deliveries.due(at(20), 10)
    assert early.secrets == (SECRET, old)
    assert late.secrets == (SECRET,)


async def finish(store: Store, delivery_id: str, status: DeliveryStatus) -> None:
    async with store.uow() as uow:
        stored = await uow.webhook_deliveries.get(TENANT, DeliveryId(delivery_id))
        assert stored is not None
        assert await uow.webhook_deliveries.claim(stored, at(60))
        claimed = dataclasses.replace(stored, attempts=stored.attempts + 1, next_attempt_at=at(60))
        done = dataclasses.replace(claimed, status=status, finished_at=at(30))
        assert await uow.webhook_deliveries.finish(claimed, done, attempt(claimed))
        await uow.commit()


def attempt(claimed: WebhookDelivery, status: int | None = 200) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=claimed.id,
        number=claimed.attempts,
        attempted_at=at(20 + claimed.attempts),
        status_code=status,
        error=None if status == 200 else "timed out after 10 s",
        duration_ms=1234,
    )


async def test_a_claim_is_taken_once_and_an_outcome_recorded_once(store: Store) -> None:
    await add(store, subscription(1), delivery(1))
    async with store.uow() as uow:
        (due,) = await uow.webhook_deliveries.due(at(1), 10)
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.claim(due.delivery, at(41))
        assert not await uow.webhook_deliveries.claim(due.delivery, at(41))  # taken
        await uow.commit()
    assert await due_ids(store.uow, at(40)) == []  # held until the claim lapses
    assert await due_ids(store.uow, at(41)) == ["msg_001"]
    first = dataclasses.replace(due.delivery, attempts=1, next_attempt_at=at(41))
    retry = dataclasses.replace(
        first,
        failures=1,
        next_attempt_at=at(50),
        last_attempt_at=at(21),
        last_error="timed out after 10 s",
    )
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.finish(first, retry, attempt(first, None))
        # Recorded once: the row is no longer as the claim left it.
        assert not await uow.webhook_deliveries.finish(first, retry, attempt(first, None))
        late = dataclasses.replace(first, attempts=0)
        assert not await uow.webhook_deliveries.finish(late, retry, attempt(first, None))
        await uow.commit()
    store.forget_cache()
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.get(TENANT, first.id) == retry
        (log,) = await uow.webhook_deliveries.attempts(first.id)
    assert log == attempt(first, None)
    assert_utc(log.attempted_at)
    await finish(store, "msg_001", DeliveryStatus.DELIVERED)
    async with store.uow() as uow:
        assert [a.number for a in await uow.webhook_deliveries.attempts(first.id)] == [1, 2]
        assert await uow.webhook_deliveries.count_pending() == 0


async def test_the_log_pages_newest_first_and_filters(store: Store) -> None:
    mine = [delivery(n, conv=f"c-{n}", sub=1 + n % 2) for n in range(1, 8)]
    theirs = delivery(8, tenant_id=OTHER_TENANT)
    await add(store, subscription(1), subscription(2), *mine, theirs)
    await finish(store, "msg_003", DeliveryStatus.FAILED)
    async with store.uow() as uow:
        repo = uow.webhook_deliveries
        everything = await repo.list(TENANT, limit=100)
        assert [d.id for d in everything] == [f"msg_{n:03d}" for n in range(7, 0, -1)]
        page = await repo.list(TENANT, limit=3)
        after = await repo.list(TENANT, limit=3, before=page[-1])
        assert [*page, *after] == list(everything[:6])
        assert [d.id for d in await repo.list(TENANT, limit=9, status=DeliveryStatus.FAILED)] == [
            "msg_003"
        ]
        odd = await repo.list(TENANT, limit=9, subscription_id=SubscriptionId("sub-2"))
        assert [d.id for d in odd] == ["msg_007", "msg_005", "msg_003", "msg_001"]
        assert await repo.count_pending(TENANT) == 6
        assert await repo.count_pending(OTHER_TENANT) == 1
        assert await repo.count_pending() == 7


async def test_requeue_purge_and_removal(store: Store) -> None:
    await add(store, subscription(1), subscription(2), delivery(1), delivery(2, conv="c-2"))
    await add(store, delivery(3, sub=2, conv="c-3"))
    await finish(store, "msg_001", DeliveryStatus.DELIVERED)
    await finish(store, "msg_002", DeliveryStatus.FAILED)
    async with store.uow() as uow:
        failed = await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_002"))
        assert failed is not None
        await uow.webhook_deliveries.requeue(failed, at(40))
        await uow.commit()
    async with store.uow() as uow:
        again = await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_002"))
    assert again == dataclasses.replace(
        failed,
        status=DeliveryStatus.PENDING,
        queued_at=at(40),
        next_attempt_at=at(40),
        failures=0,
        finished_at=None,
    )
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.purge(at(30), 10) == 0  # finished at 30
        assert await uow.webhook_deliveries.purge(at(31), 10) == 1  # only msg_001
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_001")) is None
        assert await uow.webhook_deliveries.attempts(DeliveryId("msg_001")) == []
        assert len(await uow.webhook_deliveries.attempts(DeliveryId("msg_002"))) == 1
        # Removing a subscription removes its deliveries and their log.
        assert await uow.webhooks.remove(TENANT, SubscriptionId("sub-1"))
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_002")) is None
        assert await uow.webhook_deliveries.attempts(DeliveryId("msg_002")) == []
        assert [d.id for d in await uow.webhook_deliveries.list(TENANT, limit=9)] == ["msg_003"]


async def test_deliveries_of_a_subscription_gone_meanwhile_are_not_counted_and_are_purged(
    store: Store,
) -> None:
    # Staged by a process whose cached list still had sub-2, which another process had
    # just removed (with its deliveries): its rows are never due and nobody sees them.
    await add(store, subscription(1), delivery(1), delivery(2, sub=2, conv="c-2"))
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.count_pending() == 1
        assert await uow.webhook_deliveries.count_pending(TENANT) == 1
        assert await uow.webhook_deliveries.purge_orphans(10) == 1
        await uow.commit()
    async with store.uow() as uow:
        assert await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_002")) is None
        assert await uow.webhook_deliveries.get(TENANT, DeliveryId("msg_001")) is not None
        assert await uow.webhook_deliveries.purge_orphans(10) == 0
