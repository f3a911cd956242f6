"""In-memory fakes of the webhook ports: the subscriptions and the outbox over the fake
store's tables (``tests.fakes`` wires them into ``FakeUnitOfWork``), a transport that
answers what a test scripts, and a resolver with a fixed table."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

from business.model import TenantId
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryId,
    DeliveryStatus,
    DueDelivery,
    SubscriptionId,
    WebhookDelivery,
    WebhookSubscription,
)
from business.webhook_ports import HttpResult


class FakeWebhooks:
    def __init__(
        self,
        rows: dict[SubscriptionId, WebhookSubscription],
        deliveries: dict[DeliveryId, WebhookDelivery],
        attempts: dict[DeliveryId, list[DeliveryAttempt]],
    ) -> None:
        self._rows = rows
        self._deliveries = deliveries
        self._attempts = attempts

    async def add(self, subscription: WebhookSubscription) -> None:
        assert subscription.id not in self._rows
        self._rows[subscription.id] = subscription

    async def get(
        self, tenant_id: TenantId, subscription_id: SubscriptionId
    ) -> WebhookSubscription | None:
        found = self._rows.get(subscription_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def list(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        mine = [s for s in self._rows.values() if s.tenant_id == tenant_id]
        return sorted(mine, key=lambda s: (s.created_at, s.id))

    async def save(self, subscription: WebhookSubscription) -> None:
        stored = await self.get(subscription.tenant_id, subscription.id)
        if stored is None:
            raise KeyError(subscription.id)
        self._rows[subscription.id] = dataclasses.replace(
            subscription, created_at=stored.created_at
        )

    async def remove(self, tenant_id: TenantId, subscription_id: SubscriptionId) -> bool:
        if await self.get(tenant_id, subscription_id) is None:
            return False
        del self._rows[subscription_id]
        for delivery in list(self._deliveries.values()):
            if delivery.subscription_id == subscription_id:
                del self._deliveries[delivery.id]
                self._attempts.pop(delivery.id, None)
        return True

    async def enabled_for_tenant(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        return [s for s in await self.list(tenant_id) if s.enabled]


class FakeWebhookDeliveries:
    def __init__(
        self,
        rows: dict[DeliveryId, WebhookDelivery],
        attempts: dict[DeliveryId, list[DeliveryAttempt]],
        subscriptions: dict[SubscriptionId, WebhookSubscription],
    ) -> None:
        self._rows = rows
        self._attempts = attempts
        self._subscriptions = subscriptions

    async def add_many(self, deliveries: Sequence[WebhookDelivery]) -> None:
        for delivery in deliveries:
            assert delivery.id not in self._rows
            self._rows[delivery.id] = delivery

    async def due(
        self, now: datetime, limit: int, *, exclude: Collection[SubscriptionId] = ()
    ) -> Sequence[DueDelivery]:
        pending = [d for d in self._rows.values() if d.status is DeliveryStatus.PENDING]
        found = []
        for d in sorted(pending, key=lambda d: (d.next_attempt_at, d.id)):
            subscription = self._subscriptions.get(d.subscription_id)
            earlier = any(
                e.subscription_id == d.subscription_id
                and e.conversation_id == d.conversation_id
                and (e.pos, e.part) < (d.pos, d.part)
                for e in pending
            )
            if (
                d.next_attempt_at <= now
                and subscription is not None
                and subscription.enabled
                and d.subscription_id not in exclude
                and not earlier
            ):
                secrets = subscription.signing_secrets(now)
                found.append(DueDelivery(delivery=d, url=subscription.url, secrets=secrets))
        return found[: max(limit, 0)]

    async def claim(self, delivery: WebhookDelivery, until: datetime) -> bool:
        stored = self._rows.get(delivery.id)
        if (
            stored is None
            or stored.status is not DeliveryStatus.PENDING
            or stored.attempts != delivery.attempts
        ):
            return False
        self._rows[delivery.id] = dataclasses.replace(
            stored, attempts=stored.attempts + 1, next_attempt_at=until
        )
        return True

    async def finish(
        self, claimed: WebhookDelivery, outcome: WebhookDelivery, attempt: DeliveryAttempt
    ) -> bool:
        stored = self._rows.get(claimed.id)
        if (
            stored is None
            or stored.status is not DeliveryStatus.PENDING
            or stored.attempts != claimed.attempts
            or stored.next_attempt_at != claimed.next_attempt_at
        ):
            return False
        delivery = outcome
        self._rows[delivery.id] = dataclasses.replace(
            stored,
            status=delivery.status,
            next_attempt_at=delivery.next_attempt_at,
            failures=delivery.failures,
            last_attempt_at=delivery.last_attempt_at,
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            finished_at=delivery.finished_at,
        )
        self._attempts.setdefault(delivery.id, []).append(attempt)
        return True

    async def get(self, tenant_id: TenantId, delivery_id: DeliveryId) -> WebhookDelivery | None:
        found = self._rows.get(delivery_id)
        return found if found is not None and found.tenant_id == tenant_id else None

    async def attempts(self, delivery_id: DeliveryId) -> Sequence[DeliveryAttempt]:
        return sorted(self._attempts.get(delivery_id, []), key=lambda a: a.number)

    async def list(
        self,
        tenant_id: TenantId,
        *,
        subscription_id: SubscriptionId | None = None,
        status: DeliveryStatus | None = None,
        limit: int,
        before: WebhookDelivery | None = None,
    ) -> Sequence[WebhookDelivery]:
        found = [
            d
            for d in self._rows.values()
            if d.tenant_id == tenant_id
            and (subscription_id is None or d.subscription_id == subscription_id)
            and (status is None or d.status is status)
            and (before is None or (d.created_at, d.id) < (before.created_at, before.id))
        ]
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return found[: max(limit, 0)]

    async def requeue(self, delivery: WebhookDelivery, now: datetime) -> None:
        stored = self._rows[delivery.id]
        self._rows[delivery.id] = dataclasses.replace(
            stored,
            status=DeliveryStatus.PENDING,
            queued_at=now,
            next_attempt_at=now,
            failures=0,
            finished_at=None,
        )

    async def purge(self, finished_before: datetime, limit: int) -> int:
        old = [
            d
            for d in self._rows.values()
            if d.status is not DeliveryStatus.PENDING
            and d.finished_at is not None
            and d.finished_at < finished_before
        ]
        old.sort(key=lambda d: d.finished_at or finished_before)
        for d in old[:limit]:
            del self._rows[d.id]
            self._attempts.pop(d.id, None)
        return len(old[:limit])

    async def purge_orphans(self, limit: int) -> int:
        orphans = [d for d in self._rows.values() if d.subscription_id not in self._subscriptions]
        for d in orphans[: max(limit, 0)]:
            del self._rows[d.id]
            self._attempts.pop(d.id, None)
        return len(orphans[: max(limit, 0)])

    async def count_pending(self, tenant_id: TenantId | None = None) -> int:
        return sum(
            1
            for d in self._rows.values()
            if d.status is DeliveryStatus.PENDING
            and tenant_id in (None, d.tenant_id)
            and d.subscription_id in self._subscriptions
        )


@dataclasses.dataclass(frozen=True)
class Post:
    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: float


class ScriptedTransport:
    """Answers each post with ``answer(post)`` (default: 204) and remembers them all."""

    def __init__(self, answer: Callable[[Post], HttpResult] | None = None) -> None:
        self.posts: list[Post] = []
        self.answer = answer or (lambda post: HttpResult(status=204))

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResult:
        post = Post(url=url, body=body, headers=dict(headers), timeout=timeout)
        self.posts.append(post)
        return self.answer(post)


class TableResolver:
    """Hosts to addresses from a table; an IP literal resolves to itself."""

    def __init__(self, table: Mapping[str, Sequence[str]] | None = None) -> None:
        self.table = dict(table or {})

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            return list(self.table.get(host, ()))
