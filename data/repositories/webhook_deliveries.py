"""The webhook outbox: deliveries (queued with the events on the message path) and the
log of their attempts."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, func, insert, or_, select, update

from business.model import ConversationId, TenantId
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryId,
    DeliveryStatus,
    DueDelivery,
    SubscriptionId,
    WebhookDelivery,
    WebhookEventType,
)
from data.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookSubscriptionRow
from data.repositories.base import OUTBOX_INSERTS, SqlContext

_D: Table = WebhookDeliveryRow.__table__  # type: ignore[assignment]
_A: Table = WebhookAttemptRow.__table__  # type: ignore[assignment]
_S: Table = WebhookSubscriptionRow.__table__  # type: ignore[assignment]
_INSERT = insert(_D)
_INSERT_ATTEMPT = insert(_A)
_PENDING = DeliveryStatus.PENDING.value
_FINISHED = (DeliveryStatus.DELIVERED.value, DeliveryStatus.FAILED.value)


def _delivery(row: Any) -> WebhookDelivery:
    return WebhookDelivery(
        id=DeliveryId(row.id),
        tenant_id=TenantId(row.tenant_id),
        subscription_id=SubscriptionId(row.subscription_id),
        conversation_id=ConversationId(row.conversation_id),
        pos=row.pos,
        part=row.part,
        event_type=WebhookEventType(row.event_type),
        body=row.body,
        status=DeliveryStatus(row.status),
        created_at=row.created_at,
        queued_at=row.queued_at,
        next_attempt_at=row.next_attempt_at,
        attempts=row.attempts,
        failures=row.failures,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        finished_at=row.finished_at,
    )


def _values(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "tenant_id": delivery.tenant_id,
        "subscription_id": delivery.subscription_id,
        "conversation_id": delivery.conversation_id,
        "pos": delivery.pos,
        "part": delivery.part,
        "event_type": delivery.event_type.value,
        "body": delivery.body,
        "status": delivery.status.value,
        "created_at": delivery.created_at,
        "queued_at": delivery.queued_at,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": delivery.attempts,
        "failures": delivery.failures,
        "last_attempt_at": delivery.last_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "finished_at": delivery.finished_at,
    }


def _attempt(row: Any) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=DeliveryId(row.delivery_id),
        number=row.number,
        attempted_at=row.attempted_at,
        status_code=row.status_code,
        error=row.error,
        duration_ms=row.duration_ms,
    )


_EARLIER = _D.alias("earlier")
# A delivery waits while one before it, of the same subscription and conversation, is
# pending (being attempted, or waiting for its retry): the receiver gets each
# conversation's events in order.
_NOTHING_EARLIER_PENDING = ~exists().where(
    _EARLIER.c.subscription_id == _D.c.subscription_id,
    _EARLIER.c.conversation_id == _D.c.conversation_id,
    _EARLIER.c.status == _PENDING,
    or_(
        _EARLIER.c.pos < _D.c.pos,
        and_(_EARLIER.c.pos == _D.c.pos, _EARLIER.c.part < _D.c.part),
    ),
)

# Its subscription exists (one removed by another process may have had rows staged
# after its removal, by a process whose cached list still had it).
_SUBSCRIBED = exists().where(_S.c.id == _D.c.subscription_id)


class SqlWebhookDeliveryRepository:
    """``business.webhook_ports.WebhookDeliveryRepository``. ``add_many`` queues its
    rows like the events (one trip at commit, in the message path's single hop on
    SQLite); everything else runs at once."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add_many(self, deliveries: Sequence[WebhookDelivery]) -> None:
        for delivery in deliveries:
            self._ctx.queue(_INSERT, _values(delivery), order=OUTBOX_INSERTS)

    async def due(
        self, now: datetime, limit: int, *, exclude: Collection[SubscriptionId] = ()
    ) -> Sequence[DueDelivery]:
        stmt = (
            select(_D, _S.c.url, _S.c.secret, _S.c.previous_secret, _S.c.previous_secret_until)
            .join(_S, _S.c.id == _D.c.subscription_id)
            .where(
                _D.c.status == _PENDING,
                _D.c.next_attempt_at <= now,
                _S.c.enabled.is_(True),
                _NOTHING_EARLIER_PENDING,
            )
            .order_by(_D.c.next_attempt_at, _D.c.id)
            .limit(max(limit, 0))
        )
        if exclude:
            stmt = stmt.where(_D.c.subscription_id.not_in(list(exclude)))
        found = []
        for row in await self._ctx.execute(stmt):
            secrets: tuple[str, ...] = (row.secret,)
            until = row.previous_secret_until
            if row.previous_secret is not None and until is not None and now < until:
                secrets = (row.secret, row.previous_secret)
            found.append(DueDelivery(delivery=_delivery(row), url=row.url, secrets=secrets))
        return found

    async def claim(self, delivery: WebhookDelivery, until: datetime) -> bool:
        stmt = (
            update(_D)
            .where(
                _D.c.id == delivery.id,
                _D.c.status == _PENDING,
                _D.c.attempts == delivery.attempts,
            )
            .values(attempts=_D.c.attempts + 1, next_attempt_at=until)
        )
        return bool((await self._ctx.execute(stmt)).rowcount == 1)

    async def finish(
        self, claimed: WebhookDelivery, outcome: WebhookDelivery, attempt: DeliveryAttempt
    ) -> bool:
        delivery = outcome
        stmt = (
            update(_D)
            .where(
                _D.c.id == claimed.id,
                _D.c.status == _PENDING,
                _D.c.attempts == claimed.attempts,
                _D.c.next_attempt_at == claimed.next_attempt_at,
            )
            .values(
                status=delivery.status.value,
                next_attempt_at=delivery.next_attempt_at,
                failures=delivery.failures,
                last_attempt_at=delivery.last_attempt_at,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                finished_at=delivery.finished_at,
            )
        )
        if (await self._ctx.execute(stmt)).rowcount != 1:
            return False
        await self._ctx.execute(
            _INSERT_ATTEMPT,
            {
                "delivery_id": attempt.delivery_id,
                "number": attempt.number,
                "attempted_at": attempt.attempted_at,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            },
        )
        return True

    async def get(self, tenant_id: TenantId, delivery_id: DeliveryId) -> WebhookDelivery | None:
        stmt = select(_D).where(_D.c.id == delivery_id, _D.c.tenant_id == tenant_id)
        row = (await self._ctx.execute(stmt)).first()
        return None if row is None else _delivery(row)

    async def attempts(self, delivery_id: DeliveryId) -> Sequence[DeliveryAttempt]:
        stmt = select(_A).where(_A.c.delivery_id == delivery_id).order_by(_A.c.number)
        return [_attempt(row) for row in await self._ctx.execute(stmt)]

    async def list(
        self,
        tenant_id: TenantId,
        *,
        subscription_id: SubscriptionId | None = None,
        status: DeliveryStatus | None = None,
        limit: int,
        before: WebhookDelivery | None = None,
    ) -> Sequence[WebhookDelivery]:
        stmt = (
            select(_D)
            .where(_D.c.tenant_id == tenant_id)
            .order_by(_D.c.created_at.desc(), _D.c.id.desc())
            .limit(max(limit, 0))
        )
        if subscription_id is not None:
            stmt = stmt.where(_D.c.subscription_id == subscription_id)
        if status is not None:
            stmt = stmt.where(_D.c.status == status.value)
        if before is not None:
            stmt = stmt.where(
                or_(
                    _D.c.created_at < before.created_at,
                    and_(_D.c.created_at == before.created_at, _D.c.id < before.id),
                )
            )
        return [_delivery(row) for row in await self._ctx.execute(stmt)]

    async def requeue(self, delivery: WebhookDelivery, now: datetime) -> None:
        await self._ctx.execute(
            update(_D)
            .where(_D.c.id == delivery.id)
            .values(
                status=_PENDING, queued_at=now, next_attempt_at=now, failures=0, finished_at=None
            )
        )

    async def purge(self, finished_before: datetime, limit: int) -> int:
        oldest = (
            select(_D.c.id)
            .where(_D.c.status.in_(_FINISHED), _D.c.finished_at < finished_before)
            .order_by(_D.c.finished_at)
            .limit(max(limit, 0))
        )
        # Their attempts go with them (ON DELETE CASCADE).
        result = await self._ctx.execute(delete(_D).where(_D.c.id.in_(oldest)))
        return int(result.rowcount)

    async def purge_orphans(self, limit: int) -> int:
        orphans = select(_D.c.id).where(~_SUBSCRIBED).limit(max(limit, 0))
        result = await self._ctx.execute(delete(_D).where(_D.c.id.in_(orphans)))
        return int(result.rowcount)

    async def count_pending(self, tenant_id: TenantId | None = None) -> int:
        stmt = select(func.count()).select_from(_D).where(_D.c.status == _PENDING, _SUBSCRIBED)
        if tenant_id is not None:
            stmt = stmt.where(_D.c.tenant_id == tenant_id)
        return int((await self._ctx.execute(stmt)).scalar() or 0)
