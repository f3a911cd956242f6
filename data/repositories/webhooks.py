"""Webhook subscriptions, and the cache of each tenant's enabled ones that the message
path reads (``business.webhook_outbox``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, delete, insert, select, update

from business.model import TenantId
from business.webhook_model import SubscriptionId, WebhookEventType, WebhookSubscription
from data.models import WebhookDeliveryRow, WebhookSubscriptionRow
from data.repositories.base import SqlContext

_S: Table = WebhookSubscriptionRow.__table__  # type: ignore[assignment]
_D: Table = WebhookDeliveryRow.__table__  # type: ignore[assignment]
_INSERT = insert(_S)
_ORDER = (_S.c.created_at, _S.c.id)


def _subscription(row: Any) -> WebhookSubscription:
    return WebhookSubscription(
        id=SubscriptionId(row.id),
        tenant_id=TenantId(row.tenant_id),
        url=row.url,
        secret=row.secret,
        event_types=tuple(WebhookEventType(t) for t in row.event_types),
        enabled=row.enabled,
        description=row.description,
        created_at=row.created_at,
        previous_secret=row.previous_secret,
        previous_secret_until=row.previous_secret_until,
    )


def _values(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "tenant_id": subscription.tenant_id,
        "url": subscription.url,
        "secret": subscription.secret,
        "previous_secret": subscription.previous_secret,
        "previous_secret_until": subscription.previous_secret_until,
        "event_types": [t.value for t in subscription.event_types],
        "description": subscription.description,
        "enabled": subscription.enabled,
        "created_at": subscription.created_at,
    }


class SqlWebhookRepository:
    """``business.webhook_ports.WebhookRepository``. Every write marks the tenant, so its
    cached list is dropped when the unit of work commits."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, subscription: WebhookSubscription) -> None:
        self._ctx.written_webhook_tenants.add(subscription.tenant_id)
        await self._ctx.execute(_INSERT, _values(subscription))

    async def get(
        self, tenant_id: TenantId, subscription_id: SubscriptionId
    ) -> WebhookSubscription | None:
        stmt = select(_S).where(_S.c.id == subscription_id, _S.c.tenant_id == tenant_id)
        row = (await self._ctx.execute(stmt)).first()
        return None if row is None else _subscription(row)

    async def list(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        stmt = select(_S).where(_S.c.tenant_id == tenant_id).order_by(*_ORDER)
        return [_subscription(row) for row in await self._ctx.execute(stmt)]

    async def save(self, subscription: WebhookSubscription) -> None:
        self._ctx.written_webhook_tenants.add(subscription.tenant_id)
        values = _values(subscription)
        del values["id"], values["tenant_id"], values["created_at"]
        stmt = (
            update(_S)
            .where(_S.c.id == subscription.id, _S.c.tenant_id == subscription.tenant_id)
            .values(values)
        )
        if (await self._ctx.execute(stmt)).rowcount != 1:
            raise KeyError(subscription.id)

    async def remove(self, tenant_id: TenantId, subscription_id: SubscriptionId) -> bool:
        self._ctx.written_webhook_tenants.add(tenant_id)
        # Its attempts go with each delivery (ON DELETE CASCADE).
        await self._ctx.execute(
            delete(_D).where(_D.c.subscription_id == subscription_id, _D.c.tenant_id == tenant_id)
        )
        result = await self._ctx.execute(
            delete(_S).where(_S.c.id == subscription_id, _S.c.tenant_id == tenant_id)
        )
        return bool(result.rowcount)

    async def enabled_for_tenant(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        ctx = self._ctx
        cache = ctx.caches.webhooks
        # A unit of work that changed them neither trusts nor fills the cache (it would
        # see, or publish, what it has not committed).
        own_write = tenant_id in ctx.written_webhook_tenants
        if not own_write and (hit := cache.get(tenant_id)) is not None:
            return hit
        generation = cache.generation
        stmt = (
            select(_S).where(_S.c.tenant_id == tenant_id, _S.c.enabled.is_(True)).order_by(*_ORDER)
        )
        found = tuple(_subscription(row) for row in await ctx.execute(stmt))
        if not own_write:
            cache.fill(tenant_id, found, generation)
        return found
