"""Webhook subscriptions and their delivery log: what a tenant's administrator manages.

A tenant subscribes a URL to event types (``WebhookEventType``); each delivery is
signed with the subscription's secret as Standard Webhooks says
(``business.webhook_signing``) and retried for a while (``business.webhook_delivery``).
Targets are checked against the SSRF rule (``business.webhook_targets``) whenever a URL
is set. Everything is per tenant: another tenant's subscription or delivery is
``NotFound``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import timedelta

from business.errors import InvalidInput, InvalidTransition, NotFound
from business.model import TenantId, new_id
from business.ports import Clock
from business.transactions import Transaction, Transactions
from business.webhook_commands import CreateWebhook, Redeliver, RotateWebhookSecret, UpdateWebhook
from business.webhook_model import (
    DeliveryId,
    DeliveryLog,
    DeliveryStatus,
    SubscriptionId,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from business.webhook_ports import HostResolver
from business.webhook_settings import WebhookSettings
from business.webhook_signing import new_secret, secret_key
from business.webhook_targets import check_target

logger = logging.getLogger(__name__)

MAX_DESCRIPTION = 500
MAX_PAGE = 200
"""Deliveries one ``list_deliveries`` call returns at most."""


class WebhookService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        resolver: HostResolver,
        settings: WebhookSettings,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._resolver = resolver
        self._settings = settings

    # -- subscriptions ----------------------------------------------------------------

    async def create(self, cmd: CreateWebhook) -> WebhookSubscription:
        """A new subscription of the tenant (which must exist), with a new secret unless
        one is given. ``TargetRefused`` for a URL on a non-public address (unless the
        settings allow them), ``InvalidInput`` for anything else malformed, an unknown
        event type, or a tenant that has ``WebhookSettings.max_per_tenant`` already."""
        url = await self._check_url(cmd.url)
        event_types = _event_types(cmd.event_types)
        description = _description(cmd.description)
        secret = new_secret() if cmd.secret is None else cmd.secret
        secret_key(secret)
        subscription = WebhookSubscription(
            id=SubscriptionId(new_id()),
            tenant_id=cmd.tenant_id,
            url=url,
            secret=secret,
            event_types=event_types,
            enabled=cmd.enabled,
            description=description,
            created_at=self._clock.now(),
        )
        async with self._tx() as tx:
            if await tx.tenants.get(cmd.tenant_id) is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            if len(await tx.webhooks.list(cmd.tenant_id)) >= self._settings.max_per_tenant:
                raise InvalidInput(
                    f"a tenant has at most {self._settings.max_per_tenant} webhook subscriptions"
                )
            await tx.webhooks.add(subscription)
            await tx.commit()
        logger.info("tenant %s: webhook %s created", cmd.tenant_id, subscription.id)
        return subscription

    async def list(self, tenant_id: TenantId) -> Sequence[WebhookSubscription]:
        """Oldest first."""
        async with self._tx.read() as tx:
            return await tx.webhooks.list(tenant_id)

    async def get(
        self, tenant_id: TenantId, subscription_id: SubscriptionId
    ) -> WebhookSubscription:
        async with self._tx.read() as tx:
            return await _subscription(tx, tenant_id, subscription_id)

    async def update(self, cmd: UpdateWebhook) -> WebhookSubscription:
        """Change what is given; a new URL is checked as on ``create``."""
        changes: dict[str, object] = {}
        if cmd.url is not None:
            changes["url"] = await self._check_url(cmd.url)
        if cmd.event_types is not None:
            changes["event_types"] = _event_types(cmd.event_types)
        if cmd.description is not None:
            changes["description"] = _description(cmd.description)
        if cmd.enabled is not None:
            changes["enabled"] = cmd.enabled
        async with self._tx() as tx:
            stored = await _subscription(tx, cmd.tenant_id, cmd.subscription_id)
            updated = dataclasses.replace(stored, **changes)  # type: ignore[arg-type]
            await tx.webhooks.save(updated)
            await tx.commit()
        logger.info("tenant %s: webhook %s updated", cmd.tenant_id, cmd.subscription_id)
        return updated

    async def rotate_secret(self, cmd: RotateWebhookSecret) -> WebhookSubscription:
        """A new secret; the old one still signs deliveries beside it for
        ``keep_previous_for`` seconds, so the receiver can switch without a gap."""
        if not 0 <= cmd.keep_previous_for <= 30 * 86400:
            raise InvalidInput("keep_previous_for is 0 to 30 days in seconds")
        now = self._clock.now()
        async with self._tx() as tx:
            stored = await _subscription(tx, cmd.tenant_id, cmd.subscription_id)
            keep = cmd.keep_previous_for > 0
            rotated = dataclasses.replace(
                stored,
                secret=new_secret(),
                previous_secret=stored.secret if keep else None,
                previous_secret_until=now + timedelta(seconds=cmd.keep_previous_for)
                if keep
                else None,
            )
            await tx.webhooks.save(rotated)
            await tx.commit()
        logger.info("tenant %s: webhook %s has a new secret", cmd.tenant_id, cmd.subscription_id)
        return rotated

    async def delete(self, tenant_id: TenantId, subscription_id: SubscriptionId) -> None:
        """Remove the subscription, its pending deliveries and its delivery log."""
        async with self._tx() as tx:
            if not await tx.webhooks.remove(tenant_id, subscription_id):
                raise NotFound(f"no webhook {subscription_id!r}")
            await tx.commit()
        logger.info("tenant %s: webhook %s deleted", tenant_id, subscription_id)

    # -- the delivery log -------------------------------------------------------------

    async def list_deliveries(
        self,
        tenant_id: TenantId,
        *,
        subscription_id: SubscriptionId | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        before: DeliveryId | None = None,
    ) -> Sequence[WebhookDelivery]:
        """The tenant's deliveries, newest first, at most ``limit`` (1 to ``MAX_PAGE``);
        ``before``: the page after that delivery."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit is 1 to {MAX_PAGE}")
        async with self._tx.read() as tx:
            if subscription_id is not None:
                await _subscription(tx, tenant_id, subscription_id)
            after = None
            if before is not None:
                after = await tx.webhook_deliveries.get(tenant_id, before)
                if after is None:
                    raise NotFound(f"no webhook delivery {before!r}")
            return await tx.webhook_deliveries.list(
                tenant_id, subscription_id=subscription_id, status=status, limit=limit, before=after
            )

    async def get_delivery(self, tenant_id: TenantId, delivery_id: DeliveryId) -> DeliveryLog:
        """The delivery and every attempt made (status, error, duration)."""
        async with self._tx.read() as tx:
            delivery = await _delivery(tx, tenant_id, delivery_id)
            attempts = await tx.webhook_deliveries.attempts(delivery_id)
        return DeliveryLog(delivery=delivery, attempts=tuple(attempts))

    async def redeliver(self, cmd: Redeliver) -> WebhookDelivery:
        """Queue a delivered or failed delivery again, due now, with the same id and body
        (receivers deduplicate on ``webhook-id``) and a fresh allowance of retries. A
        pending one is refused: it is being retried already. It keeps its place in the
        order of its conversation: later pending deliveries wait for it."""
        now = self._clock.now()
        async with self._tx() as tx:
            delivery = await _delivery(tx, cmd.tenant_id, cmd.delivery_id)
            if delivery.status is DeliveryStatus.PENDING:
                raise InvalidTransition(
                    "this delivery is pending; it is retried by itself until it is "
                    "delivered or given up"
                )
            await tx.webhook_deliveries.requeue(delivery, now)
            await tx.commit()
        logger.info("tenant %s: webhook delivery %s queued again", cmd.tenant_id, delivery.id)
        return dataclasses.replace(
            delivery,
            status=DeliveryStatus.PENDING,
            queued_at=now,
            next_attempt_at=now,
            failures=0,
            finished_at=None,
        )

    async def backlog(self, tenant_id: TenantId | None = None) -> int:
        """Deliveries pending (of one tenant, or of all)."""
        async with self._tx.read() as tx:
            return await tx.webhook_deliveries.count_pending(tenant_id)

    async def _check_url(self, url: str) -> str:
        return await check_target(
            url, self._resolver, allow_private=self._settings.allow_private_targets
        )


def _event_types(names: Sequence[str]) -> tuple[WebhookEventType, ...]:
    known = {t.value: t for t in WebhookEventType}
    chosen: list[WebhookEventType] = []
    for name in names:
        event_type = known.get(name.strip())
        if event_type is None:
            raise InvalidInput(f"unknown webhook event type {name!r} (known: {', '.join(known)})")
        if event_type not in chosen:
            chosen.append(event_type)
    return tuple(chosen)


def _description(text: str) -> str:
    text = text.strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(f"a webhook description has at most {MAX_DESCRIPTION} characters")
    return text


async def _subscription(
    tx: Transaction, tenant_id: TenantId, subscription_id: SubscriptionId
) -> WebhookSubscription:
    found = await tx.webhooks.get(tenant_id, subscription_id)
    if found is None:
        raise NotFound(f"no webhook {subscription_id!r}")
    return found


async def _delivery(
    tx: Transaction, tenant_id: TenantId, delivery_id: DeliveryId
) -> WebhookDelivery:
    found = await tx.webhook_deliveries.get(tenant_id, delivery_id)
    if found is None:
        raise NotFound(f"no webhook delivery {delivery_id!r}")
    return found
