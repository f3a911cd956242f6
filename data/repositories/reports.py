"""Conversation reports (``business.report_ports.ReportRepository``), in SQLAlchemy Core
on the unit of work's connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.report_ports import ReportFigures, ReportFilter, ReportKey
from data.models import ConversationReportRow
from data.repositories.base import SqlContext

_R: Table = ConversationReportRow.__table__  # type: ignore[assignment]
_UPDATED = [c.name for c in _R.columns if c.name != "conversation_id"]


def _values(m: ConversationMetrics) -> dict[str, Any]:
    return {
        "conversation_id": m.conversation_id,
        "tenant_id": m.tenant_id,
        "queue": m.queue,
        "visitor_id": m.visitor_id,
        "agent_id": m.agent_id,
        "agent_name": m.agent_name,
        "created_at": m.created_at,
        "assigned_at": m.assigned_at,
        "ended_at": m.ended_at,
        "ended_by": None if m.ended_by is None else m.ended_by.value,
        "wait_seconds": m.wait_seconds,
        "first_response_seconds": m.first_response_seconds,
        "handle_seconds": m.handle_seconds,
        "messages_visitor": m.messages_visitor,
        "messages_agent": m.messages_agent,
        "transfers": m.transfers,
        "bot_handled": m.bot_handled,
        "wrap_up": m.wrap_up,
        "outcome": m.outcome.value,
        "channel": m.channel.value,
    }


def _metrics(row: Any) -> ConversationMetrics:
    return ConversationMetrics(
        conversation_id=ConversationId(row.conversation_id),
        tenant_id=TenantId(row.tenant_id),
        queue=QueueName(row.queue),
        visitor_id=VisitorId(row.visitor_id),
        agent_id=None if row.agent_id is None else AgentId(row.agent_id),
        agent_name=row.agent_name,
        created_at=row.created_at,
        assigned_at=row.assigned_at,
        ended_at=row.ended_at,
        ended_by=None if row.ended_by is None else ParticipantKind(row.ended_by),
        wait_seconds=row.wait_seconds,
        first_response_seconds=row.first_response_seconds,
        handle_seconds=row.handle_seconds,
        messages_visitor=row.messages_visitor,
        messages_agent=row.messages_agent,
        transfers=row.transfers,
        bot_handled=bool(row.bot_handled),
        wrap_up=row.wrap_up,
        outcome=ConversationOutcome(row.outcome),
        channel=Channel(row.channel),
    )


def _where(stmt: Select[Any], which: ReportFilter) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = [_R.c.tenant_id == which.tenant_id]
    if which.since is not None:
        conditions.append(_R.c.ended_at >= which.since)
    if which.until is not None:
        conditions.append(_R.c.ended_at < which.until)
    if which.queue is not None:
        conditions.append(_R.c.queue == which.queue)
    if which.agent_id is not None:
        conditions.append(_R.c.agent_id == which.agent_id)
    if which.channel is not None:
        conditions.append(_R.c.channel == which.channel.value)
    return stmt.where(*conditions)


class SqlReportRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def put(self, metrics: ConversationMetrics) -> None:
        values = _values(metrics)
        # One statement, so the end and a wrap-up recorded at the same moment in another
        # process cannot both insert.
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(_R).values(values)
            stmt: Any = pg.on_conflict_do_update(
                index_elements=["conversation_id"],
                set_={name: pg.excluded[name] for name in _UPDATED},
            )
        else:
            lite = sqlite_insert(_R).values(values)
            stmt = lite.on_conflict_do_update(
                index_elements=["conversation_id"],
                set_={name: lite.excluded[name] for name in _UPDATED},
            )
        await self._ctx.execute(stmt)

    async def get(self, conversation_id: ConversationId) -> ConversationMetrics | None:
        stmt = select(_R).where(_R.c.conversation_id == conversation_id)
        row = (await self._ctx.execute(stmt)).first()
        return None if row is None else _metrics(row)

    async def list(
        self, which: ReportFilter, *, after: ReportKey | None, limit: int
    ) -> Sequence[ConversationMetrics]:
        stmt = _where(select(_R), which)
        if after is not None:
            # Spelled out rather than as a row-value comparison, which not every
            # database turns into an index range.
            stmt = stmt.where(
                or_(
                    _R.c.ended_at > after.ended_at,
                    and_(
                        _R.c.ended_at == after.ended_at,
                        _R.c.conversation_id > after.conversation_id,
                    ),
                )
            )
        stmt = stmt.order_by(_R.c.ended_at, _R.c.conversation_id).limit(max(limit, 0))
        return [_metrics(row) for row in await self._ctx.execute(stmt)]

    async def figures(self, which: ReportFilter) -> Sequence[ReportFigures]:
        columns = (_R.c.queue, _R.c.ended_at, _R.c.outcome, _R.c.wait_seconds, _R.c.handle_seconds)
        stmt = _where(select(*columns), which)
        return [
            ReportFigures(
                queue=QueueName(row.queue),
                ended_at=row.ended_at,
                outcome=ConversationOutcome(row.outcome),
                wait_seconds=row.wait_seconds,
                handle_seconds=row.handle_seconds,
            )
            for row in await self._ctx.execute(stmt)
        ]
