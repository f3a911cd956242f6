"""The ports of webhooks: the subscriptions and the outbox (``UnitOfWork.webhooks`` and
``UnitOfWork.webhook_deliveries``), the HTTP transport and the resolver of target hosts.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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


class WebhookRepository(Protocol):
    """A tenant's subscriptions. Reads and writes name the tenant: another tenant's
    subscription is not found."""

    async def add(self, subscription: WebhookSubscription) -> None: ...

    async def get(
        self, tenant_id: TenantId, subscription_id: SubscriptionId
    ) -> WebhookSubscription | None: ...

    async def list(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        """Oldest first."""
        ...

    async def save(self, subscription: WebhookSubscription) -> None:
        """Write every field of an existing subscription (KeyError if there is none)."""
        ...

    async def remove(self, tenant_id: TenantId, subscription_id: SubscriptionId) -> bool:
        """Remove it and its deliveries; whether there was one."""
        ...

    async def enabled_for_tenant(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        """The tenant's enabled subscriptions, oldest first. On the message path: may come
        from a cache that this process's commits keep current (another process's change
        shows within the cache's time to live), so that a tenant without subscriptions
        costs no read per event."""
        ...


class WebhookDeliveryRepository(Protocol):
    """The outbox: deliveries and the log of their attempts."""

    async def add_many(self, deliveries: Sequence[WebhookDelivery]) -> None:
        """Store new deliveries in this unit of work (with the events they come from)."""
        ...

    async def due(
        self, now: datetime, limit: int, *, exclude: Collection[SubscriptionId] = ()
    ) -> Sequence[DueDelivery]:
        """Pending deliveries with ``next_attempt_at <= now`` of enabled subscriptions not
        in ``exclude``, soonest first, at most ``limit``; never one that has an earlier
        (``pos``, ``part``) pending delivery of the same subscription and conversation."""
        ...

    async def claim(self, delivery: WebhookDelivery, until: datetime) -> bool:
        """Begin an attempt: count it and hold the delivery until ``until``, if it is
        still pending, due and unchanged since ``delivery`` was read (compare-and-set on
        ``attempts`` and ``next_attempt_at``); whether this caller got it."""
        ...

    async def finish(
        self, claimed: WebhookDelivery, outcome: WebhookDelivery, attempt: DeliveryAttempt
    ) -> bool:
        """Log ``attempt`` and store ``outcome``'s fields (status, times, failures,
        last_*), if the row is still pending as ``claimed`` left it (its ``attempts`` and
        ``next_attempt_at``: nobody began another attempt or recorded this one
        meanwhile); whether it was stored."""
        ...

    async def get(self, tenant_id: TenantId, delivery_id: DeliveryId) -> WebhookDelivery | None: ...

    async def attempts(self, delivery_id: DeliveryId) -> Sequence[DeliveryAttempt]:
        """Oldest first."""
        ...

    async def list(
        self,
        tenant_id: TenantId,
        *,
        subscription_id: SubscriptionId | None = None,
        status: DeliveryStatus | None = None,
        limit: int,
        before: WebhookDelivery | None = None,
    ) -> Sequence[WebhookDelivery]:
        """Newest first (``created_at``, then id, descending); ``before``: only those after
        it in that order (the next page)."""
        ...

    async def requeue(self, delivery: WebhookDelivery, now: datetime) -> None:
        """Make a finished delivery pending again, due at ``now``, its time and backoff
        counted from ``now``."""
        ...

    async def purge(self, finished_before: datetime, limit: int) -> int:
        """Remove at most ``limit`` deliveries finished before that time, with their
        attempts; how many."""
        ...

    async def purge_orphans(self, limit: int) -> int:
        """Remove at most ``limit`` deliveries whose subscription is gone, with their
        attempts; how many. (A process whose cached subscriptions still had one that
        another process removed stages deliveries for it: never due, nobody's.)"""
        ...

    async def count_pending(self, tenant_id: TenantId | None = None) -> int:
        """Pending deliveries of subscriptions that exist (of one tenant, or of all)."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpResult:
    """What one POST came to: an HTTP status, or an error and no status."""

    status: int | None
    error: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookTransport(Protocol):
    """Sends one webhook. Implementations never raise for what the target or the network
    does (refused, timed out, unreachable, a refused address): that is an ``HttpResult``
    with an ``error``. They follow no redirect, and connect only to addresses
    ``business.webhook_targets.address_refusal`` accepts unless private targets are
    allowed."""

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> HttpResult: ...


class HostResolver(Protocol):
    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """The IP addresses ``host`` resolves to (an IP literal: itself); empty when it
        does not resolve."""
        ...
