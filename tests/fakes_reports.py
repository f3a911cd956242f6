"""In-memory fakes of ``business.report_ports`` (``tests.fakes`` wires them into
``FakeUnitOfWork``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from business.conversation import Conversation
from business.model import ConversationId, ConversationState, Queue, QueueName, TenantId
from business.report_metrics import ConversationMetrics
from business.report_ports import (
    OpenCount,
    QueueLength,
    ReportFigures,
    ReportFilter,
    ReportKey,
)


def _matches(m: ConversationMetrics, which: ReportFilter) -> bool:
    return (
        m.tenant_id == which.tenant_id
        and (which.since is None or m.ended_at >= which.since)
        and (which.until is None or m.ended_at < which.until)
        and (which.queue is None or m.queue == which.queue)
        and (which.channel is None or m.channel is which.channel)
        and (which.agent_id is None or m.agent_id == which.agent_id)
    )


class FakeReportRepository:
    def __init__(self, rows: dict[ConversationId, ConversationMetrics], *, read_only: bool) -> None:
        self._rows = rows
        self._read_only = read_only

    async def put(self, metrics: ConversationMetrics) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot write")
        self._rows[metrics.conversation_id] = metrics

    async def get(self, conversation_id: ConversationId) -> ConversationMetrics | None:
        return self._rows.get(conversation_id)

    async def list(
        self, which: ReportFilter, *, after: ReportKey | None, limit: int
    ) -> Sequence[ConversationMetrics]:
        found = sorted(
            (m for m in self._rows.values() if _matches(m, which)),
            key=lambda m: (m.ended_at, m.conversation_id),
        )
        if after is not None:
            key = (after.ended_at, after.conversation_id)
            found = [m for m in found if (m.ended_at, m.conversation_id) > key]
        return found[: max(limit, 0)]

    async def figures(self, which: ReportFilter) -> Sequence[ReportFigures]:
        return [
            ReportFigures(
                queue=m.queue,
                ended_at=m.ended_at,
                outcome=m.outcome,
                wait_seconds=m.wait_seconds,
                handle_seconds=m.handle_seconds,
            )
            for m in self._rows.values()
            if _matches(m, which)
        ]


class FakeLiveCounts:
    def __init__(
        self,
        conversations: Mapping[ConversationId, Conversation],
        queues: Mapping[tuple[TenantId, QueueName], Queue],
    ) -> None:
        self._conversations = conversations
        self._queues = queues

    async def open_conversations(self) -> Sequence[OpenCount]:
        counts: dict[tuple[TenantId, QueueName, ConversationState], int] = {}
        for conv in self._conversations.values():
            if conv.is_open:
                key = (conv.tenant_id, conv.queue, conv.state)
                counts[key] = counts.get(key, 0) + 1
        return [
            OpenCount(tenant_id=tenant, queue=queue, state=state, conversations=count)
            for (tenant, queue, state), count in counts.items()
        ]

    async def queue_lengths(self) -> Sequence[QueueLength]:
        return [
            QueueLength(tenant_id=q.tenant_id, queue=q.name, waiting=q.waiting)
            for q in self._queues.values()
        ]
