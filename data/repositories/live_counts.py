"""The live counts of ``/metrics`` (``business.report_ports.LiveCountRepository``): two
small aggregate queries, each served by an index (conversations by state first, so
ended ones are never read; queues are few)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, func, select

from business.model import OPEN_STATES, ConversationState, QueueName, TenantId
from business.report_ports import OpenCount, QueueLength
from data.models import ConversationRow, QueueRow
from data.repositories.base import SqlContext

_C: Table = ConversationRow.__table__  # type: ignore[assignment]
_Q: Table = QueueRow.__table__  # type: ignore[assignment]

_OPEN_COUNTS = (
    select(_C.c.tenant_id, _C.c.queue, _C.c.state, func.count().label("conversations"))
    .where(_C.c.state.in_([state.value for state in OPEN_STATES]))
    .group_by(_C.c.state, _C.c.tenant_id, _C.c.queue)
)
_QUEUE_LENGTHS = select(_Q.c.tenant_id, _Q.c.name, _Q.c.waiting)


class SqlLiveCountRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def open_conversations(self) -> Sequence[OpenCount]:
        return [
            OpenCount(
                tenant_id=TenantId(row.tenant_id),
                queue=QueueName(row.queue),
                state=ConversationState(row.state),
                conversations=int(row.conversations),
            )
            for row in await self._ctx.execute(_OPEN_COUNTS)
        ]

    async def queue_lengths(self) -> Sequence[QueueLength]:
        return [
            QueueLength(
                tenant_id=TenantId(row.tenant_id), queue=QueueName(row.name), waiting=row.waiting
            )
            for row in await self._ctx.execute(_QUEUE_LENGTHS)
        ]
