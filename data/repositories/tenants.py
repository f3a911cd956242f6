"""Tenants and their queues."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from business.bot_config import bot_config_to_json, read_bot_config
from business.errors import AlreadyExists
from business.model import Queue, QueueMode, QueueName, Tenant, TenantId
from business.opening_hours import opening_hours_to_json, read_opening_hours
from data.errors import is_key_taken
from data.models import QueueRow, TenantRow
from data.repositories.base import QUEUE_COUNTS, SqlContext
from data.repositories.reads import all_rows, read_through


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(
        id=TenantId(row.id),
        name=row.name,
        created_at=row.created_at,
        transcript_auto_send=row.transcript_auto_send,
    )


class SqlTenantRepository:
    """Tenants by id, read through the database's tenant cache."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> Tenant | None:
        ctx = self._ctx
        return await read_through(
            ctx, ctx.caches.tenants, ctx.written_tenants, TenantRow, tenant_id, _tenant
        )

    async def add(self, tenant: Tenant) -> None:
        self._ctx.written_tenants.add(tenant.id)
        session = await self._ctx.orm()
        session.add(
            TenantRow(
                id=tenant.id,
                name=tenant.name,
                created_at=tenant.created_at,
                transcript_auto_send=tenant.transcript_auto_send,
            )
        )
        try:
            await session.flush()
        except IntegrityError as error:
            # Two processes creating the same tenant at once: the loser is told so.
            if is_key_taken(error):
                raise AlreadyExists(f"tenant {tenant.id!r} exists already") from error
            raise

    async def list(self, *, after: TenantId | None, limit: int) -> Sequence[Tenant]:
        stmt = select(TenantRow).order_by(TenantRow.id).limit(limit)
        if after is not None:
            stmt = stmt.where(TenantRow.id > after)
        return [_tenant(row) for row in await all_rows(self._ctx, stmt)]

    async def save_settings(self, tenant: Tenant) -> None:
        # Dropped from the tenant cache at commit, in every process within its TTL.
        self._ctx.written_tenants.add(tenant.id)
        result = await (await self._ctx.orm()).execute(
            update(TenantRow)
            .where(TenantRow.id == tenant.id)
            .values(transcript_auto_send=tenant.transcript_auto_send)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyError(tenant.id)


def _queue(row: QueueRow) -> Queue:
    return Queue(
        tenant_id=TenantId(row.tenant_id),
        name=QueueName(row.name),
        title=row.title,
        waiting=row.waiting,
        max_waiting=row.max_waiting,
        offer_timeout=row.offer_timeout,
        wrap_up_codes=tuple(row.wrap_up_codes),
        require_wrap_up=row.require_wrap_up,
        skills=dict(row.skills),
        last_agent_window=row.last_agent_window,
        bot=None if row.bot is None else read_bot_config(row.bot),
        opening_hours=None if row.opening_hours is None else read_opening_hours(row.opening_hours),
        mode=QueueMode(row.mode),
        reawaken_window=row.reawaken_window,
        visitor_idle_alert=row.visitor_idle_alert,
        visitor_idle_close=row.visitor_idle_close,
        agent_reply_reminder=row.agent_reply_reminder,
        agent_reply_reroute=row.agent_reply_reroute,
        messaging_idle=row.messaging_idle,
        visitor_idle_alert_text=row.visitor_idle_alert_text,
        visitor_idle_close_text=row.visitor_idle_close_text,
    )


def _settings(queue: Queue) -> dict[str, object]:
    """The columns of ``queue`` an administrator configures."""
    return {
        "max_waiting": queue.max_waiting,
        "offer_timeout": queue.offer_timeout,
        "wrap_up_codes": list(queue.wrap_up_codes),
        "require_wrap_up": queue.require_wrap_up,
        "skills": dict(queue.skills),
        "last_agent_window": queue.last_agent_window,
        "bot": None if queue.bot is None else bot_config_to_json(queue.bot),
        "opening_hours": (
            None if queue.opening_hours is None else opening_hours_to_json(queue.opening_hours)
        ),
        "mode": queue.mode.value,
        "reawaken_window": queue.reawaken_window,
        "visitor_idle_alert": queue.visitor_idle_alert,
        "visitor_idle_close": queue.visitor_idle_close,
        "agent_reply_reminder": queue.agent_reply_reminder,
        "agent_reply_reroute": queue.agent_reply_reroute,
        "messaging_idle": queue.messaging_idle,
        "visitor_idle_alert_text": queue.visitor_idle_alert_text,
        "visitor_idle_close_text": queue.visitor_idle_close_text,
    }


_Q: Table = QueueRow.__table__  # type: ignore[assignment]
_ADD_WAITING = (
    update(_Q)
    .where(_Q.c.tenant_id == bindparam("t"), _Q.c.name == bindparam("n"))
    .values(waiting=_Q.c.waiting + bindparam("delta"))
)


class SqlQueueRepository:
    """Queues, keyed by (tenant, name); ``list`` is ordered by name."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, tenant_id: TenantId, name: QueueName, *, for_update: bool = False
    ) -> Queue | None:
        row = await (await self._ctx.orm()).get(
            QueueRow, (tenant_id, name), populate_existing=True, with_for_update=for_update
        )
        return None if row is None else _queue(row)

    async def add(self, queue: Queue) -> None:
        # A Core INSERT, not the ORM: the ORM leaves out a None for a column with a server
        # default, and last_agent_window None (off) would become the default 86400.
        try:
            await (await self._ctx.orm()).execute(
                insert(QueueRow).values(
                    tenant_id=queue.tenant_id,
                    name=queue.name,
                    title=queue.title,
                    waiting=queue.waiting,
                    **_settings(queue),
                )
            )
        except IntegrityError as error:
            if is_key_taken(error):
                raise AlreadyExists(f"queue {queue.name!r} exists already") from error
            raise

    async def list(self, tenant_id: TenantId) -> Sequence[Queue]:
        stmt = select(QueueRow).where(QueueRow.tenant_id == tenant_id).order_by(QueueRow.name)
        return [_queue(row) for row in await all_rows(self._ctx, stmt)]

    async def add_waiting(self, tenant_id: TenantId, name: QueueName, delta: int) -> None:
        # Queued with the conversation writes (one trip for a batch of starts); a read
        # of the queue later in the unit of work flushes it first.
        self._ctx.queue(
            _ADD_WAITING, {"t": tenant_id, "n": name, "delta": delta}, order=QUEUE_COUNTS
        )

    async def set_max_waiting(
        self, tenant_id: TenantId, name: QueueName, max_waiting: int | None
    ) -> None:
        await (await self._ctx.orm()).execute(
            update(QueueRow)
            .where(QueueRow.tenant_id == tenant_id, QueueRow.name == name)
            .values(max_waiting=max_waiting)
            .execution_options(synchronize_session=False)
        )

    async def save_settings(self, queue: Queue) -> None:
        result = await (await self._ctx.orm()).execute(
            update(QueueRow)
            .where(QueueRow.tenant_id == queue.tenant_id, QueueRow.name == queue.name)
            .values(**_settings(queue))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyError((queue.tenant_id, queue.name))
