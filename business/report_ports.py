"""The ports of conversation reports (``business.reports``) and of the live counts the
metrics endpoint shows (``business.live_counts``), apart from ``business.ports`` to keep
that module readable; ``business.ports.UnitOfWork`` offers them as ``reports`` and
``live_counts``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
)
from business.report_metrics import ConversationMetrics, ConversationOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFilter:
    """Which reports: always one tenant's; ended in ``[since, until)``; of one queue, of
    one agent (the last owner)."""

    tenant_id: TenantId
    since: datetime | None = None
    until: datetime | None = None
    queue: QueueName | None = None
    agent_id: AgentId | None = None
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportKey:
    """A place in the order reports are listed in: (``ended_at``, ``conversation_id``)."""

    ended_at: datetime
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFigures:
    """What the daily aggregates need of one report."""

    queue: QueueName
    ended_at: datetime
    outcome: ConversationOutcome
    wait_seconds: float | None
    handle_seconds: float | None


class ReportRepository(Protocol):
    """One report per ended conversation, by its id."""

    async def put(self, metrics: ConversationMetrics) -> None:
        """Insert, or replace every field of the conversation's report, in one statement."""
        ...

    async def get(self, conversation_id: ConversationId) -> ConversationMetrics | None: ...

    async def list(
        self, which: ReportFilter, *, after: ReportKey | None, limit: int
    ) -> Sequence[ConversationMetrics]:
        """At most ``limit`` reports that match, ordered by (``ended_at``,
        ``conversation_id``), starting after ``after``: a page that later inserts never
        shift, since a report is written when its conversation ends."""
        ...

    async def figures(self, which: ReportFilter) -> Sequence[ReportFigures]:
        """The figures of every report that matches, in no particular order."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCount:
    tenant_id: TenantId
    queue: QueueName
    state: ConversationState
    conversations: int


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueLength:
    tenant_id: TenantId
    queue: QueueName
    waiting: int


class LiveCountRepository(Protocol):
    """Counts across all tenants, for monitoring: each one query that stays cheap however
    many conversations have ended."""

    async def open_conversations(self) -> Sequence[OpenCount]:
        """How many conversations are in each open state (queued, active, on hold), per
        tenant and queue; combinations with none are absent."""
        ...

    async def queue_lengths(self) -> Sequence[QueueLength]:
        """Every queue with its ``Queue.waiting`` count."""
        ...
