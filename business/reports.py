"""Conversation reports: each ended conversation's metrics (``business.report_metrics``,
stored by ``business.report_stager``), listed page by page, and per-queue daily figures.

Everything is one tenant's: the tenant is part of every query, never optional. A report
belongs to the UTC day and the time range in which its conversation *ended* (that is
when it exists): a page or a day already read only changes when a wrap-up is recorded
later.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from business.errors import InvalidInput, NotFound
from business.model import AgentId, Channel, ConversationId, QueueName, TenantId
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.report_ports import ReportFigures, ReportFilter, ReportKey
from business.transactions import Transactions

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_DAYS = 366
"""The longest range the daily figures are computed over at once (they are computed
from every report in it)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportQuery:
    """Which reports, and which page: ``cursor`` is the ``next_cursor`` of the page
    before (None: the first page)."""

    tenant_id: TenantId
    since: datetime | None = None
    until: datetime | None = None
    queue: QueueName | None = None
    agent_id: AgentId | None = None
    cursor: str | None = None
    limit: int = DEFAULT_PAGE_SIZE
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPage:
    reports: Sequence[ConversationMetrics]
    next_cursor: str | None
    """Where the next page starts; None when this page is the last."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueDay:
    """One queue's conversations that ended on one UTC day.

    ``abandoned``: ended by the visitor before any agent took them
    (``abandoned_in_queue``). The wait figures are over the conversations an agent took
    (those with a ``wait_seconds``); the percentiles are nearest-rank (a wait that
    occurred); the handle average over the same conversations.
    """

    queue: QueueName
    day: date
    conversations: int
    answered: int
    abandoned: int
    average_wait_seconds: float | None
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    average_handle_seconds: float | None


class ReportService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def get(
        self, tenant_id: TenantId, conversation_id: ConversationId
    ) -> ConversationMetrics:
        """One conversation's report; another tenant's is as unknown as a missing one."""
        async with self._tx.read() as tx:
            report = await tx.reports.get(conversation_id)
        if report is None or report.tenant_id != tenant_id:
            raise NotFound("no report for this conversation (it has not ended, or is unknown)")
        return report

    async def conversations(self, query: ReportQuery) -> ReportPage:
        """One page of reports, oldest end first."""
        if not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        which = _filter(query.tenant_id, query.since, query.until, query.queue, query.agent_id)
        which = dataclasses.replace(which, channel=query.channel)
        after = None if query.cursor is None else decode_cursor(query.cursor)
        async with self._tx.read() as tx:
            # One more than asked tells whether there is a next page.
            found = list(await tx.reports.list(which, after=after, limit=query.limit + 1))
        page = found[: query.limit]
        more = len(found) > query.limit
        return ReportPage(reports=page, next_cursor=encode_cursor(page[-1]) if more else None)

    async def queue_days(
        self,
        tenant_id: TenantId,
        *,
        first_day: date,
        last_day: date,
        queue: QueueName | None = None,
    ) -> Sequence[QueueDay]:
        """Per queue and UTC day from ``first_day`` to ``last_day`` (both included), the
        days and queues with at least one conversation, by day then queue."""
        if last_day < first_day:
            raise InvalidInput("the last day comes before the first")
        if (last_day - first_day).days >= MAX_DAYS:
            raise InvalidInput(f"at most {MAX_DAYS} days at a time")
        since = datetime.combine(first_day, time(), tzinfo=UTC)
        until = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=UTC)
        which = ReportFilter(tenant_id=tenant_id, since=since, until=until, queue=queue)
        async with self._tx.read() as tx:
            figures = await tx.reports.figures(which)
        return aggregate_days(figures)


def aggregate_days(figures: Iterable[ReportFigures]) -> list[QueueDay]:
    """The per-queue daily figures of these reports, by day then queue."""
    groups: defaultdict[tuple[date, QueueName], list[ReportFigures]] = defaultdict(list)
    for figure in figures:
        groups[(figure.ended_at.astimezone(UTC).date(), figure.queue)].append(figure)
    return [_queue_day(queue, day, groups[(day, queue)]) for day, queue in sorted(groups)]


def _queue_day(queue: QueueName, day: date, figures: Sequence[ReportFigures]) -> QueueDay:
    waits = sorted(f.wait_seconds for f in figures if f.wait_seconds is not None)
    handles = [f.handle_seconds for f in figures if f.handle_seconds is not None]
    return QueueDay(
        queue=queue,
        day=day,
        conversations=len(figures),
        answered=sum(1 for f in figures if f.outcome is ConversationOutcome.ANSWERED),
        abandoned=sum(1 for f in figures if f.outcome is ConversationOutcome.ABANDONED_IN_QUEUE),
        average_wait_seconds=_average(waits),
        wait_p50_seconds=percentile(waits, 50),
        wait_p90_seconds=percentile(waits, 90),
        average_handle_seconds=_average(handles),
    )


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile of ``ordered`` (ascending); None if empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _average(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _filter(
    tenant_id: TenantId,
    since: datetime | None,
    until: datetime | None,
    queue: QueueName | None,
    agent_id: AgentId | None,
) -> ReportFilter:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise InvalidInput(f"{name} needs a time zone (or Z for UTC)")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until must come after since")
    return ReportFilter(
        tenant_id=tenant_id, since=since, until=until, queue=queue, agent_id=agent_id
    )


# -- cursors ------------------------------------------------------------------------
# Opaque to clients; what they encode is the place of the last report of a page.


def encode_cursor(last: ConversationMetrics) -> str:
    raw = f"{last.ended_at.astimezone(UTC).isoformat()}|{last.conversation_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> ReportKey:
    """The place ``cursor`` names; ``InvalidInput`` if it is none of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, conversation_id = raw.split("|", 1)
        ended_at = datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor: not a cursor this API gave out") from None
    if ended_at.utcoffset() is None or not conversation_id:
        raise InvalidInput("cursor: not a cursor this API gave out")
    return ReportKey(ended_at=ended_at, conversation_id=ConversationId(conversation_id))
