"""``/reports``: ended conversations' reports (JSON pages, or one streamed CSV) and
per-queue daily figures, of the key's tenant.

Through ``ReportService`` (``business.reports``), as ``chat-engine report`` does; the
CSV is ``presentation.report_csv``'s, the same columns and values as the JSON fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date, datetime

from pydantic import BaseModel, Field

from business.model import AgentId, Channel, ConversationId, ParticipantKind, QueueName
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.reports import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    QueueDay,
    ReportPage,
    ReportQuery,
    ReportService,
)
from presentation.api.fields import (
    CURSOR_PATTERN,
    Day,
    EntityId,
    Instant,
    QueueName as QueueNameField,
)
from presentation.api.media import Media
from presentation.api.pagination import Page
from presentation.api.registry import READERS, Call, Empty, Params, Resource
from presentation.report_csv import CSV_CONTENT_TYPE, csv_lines

resource = Resource(
    "reports",
    "Reports of ended conversations (wait, first response, handle time, outcome …) and "
    "per-queue daily figures.",
)

CSV = "text/csv"


class ReportOut(BaseModel):
    """One ended conversation's figures; durations in seconds, to the millisecond."""

    conversation_id: str
    tenant_id: str
    queue: str = Field(description="the queue it ended in")
    visitor_id: str
    agent_id: str | None = Field(description="its last owner; null if no agent took it")
    agent_name: str | None
    created_at: datetime
    assigned_at: datetime | None = Field(description="when an agent first took it")
    ended_at: datetime
    ended_by: ParticipantKind | None
    wait_seconds: float | None = Field(description="start to the first agent")
    first_response_seconds: float | None = Field(
        description="the first agent to the first message an agent wrote to the visitor"
    )
    handle_seconds: float | None = Field(description="the first agent to the end")
    messages_visitor: int
    messages_agent: int
    transfers: int
    bot_handled: bool
    wrap_up: str | None = Field(description="the last wrap-up code recorded")
    outcome: ConversationOutcome
    channel: Channel = Field(description="where the visitor wrote from: `web` or `api`")


class ReportPageOut(Page[ReportOut]):
    pass


class ReportQueryIn(Params):
    since: Instant | None = Field(None, description="ended at or after this instant")
    until: Instant | None = Field(None, description="ended before this instant")
    queue: QueueNameField | None = Field(None, description="ended in this queue")
    agent_id: EntityId | None = Field(None, description="last owned by this agent")
    channel: Channel | None = Field(None, description="of this channel: `web` or `api`")
    cursor: str | None = Field(
        None,
        pattern=CURSOR_PATTERN,
        description="`next_cursor` of the previous page; leave out for the first",
    )
    limit: int = Field(
        default=DEFAULT_PAGE_SIZE,
        ge=1,
        le=MAX_PAGE_SIZE,
        description="reports per page (JSON only: CSV streams them all)",
    )


class ReportPath(Params):
    conversation_id: EntityId


class QueueDayOut(BaseModel):
    """One queue's conversations that ended on one UTC day. Waits are over the
    conversations an agent took; percentiles are nearest-rank."""

    queue: str
    day: date
    conversations: int
    answered: int
    abandoned: int = Field(description="ended by the visitor before any agent took them")
    average_wait_seconds: float | None
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    average_handle_seconds: float | None


class QueueDays(BaseModel):
    items: list[QueueDayOut] = Field(
        description="by day, then queue; days and queues without a conversation are left out"
    )


class QueueDaysQuery(Params):
    first_day: Day
    last_day: Day = Field(description="included; at most 366 days after `first_day`")
    queue: QueueNameField | None = None


def report_out(report: ConversationMetrics) -> ReportOut:
    return ReportOut.model_validate(
        {field.name: getattr(report, field.name) for field in dataclasses.fields(report)}
    )


def queue_day_out(day: QueueDay) -> QueueDayOut:
    return QueueDayOut.model_validate(
        {field.name: getattr(day, field.name) for field in dataclasses.fields(day)}
    )


@resource.route(
    "GET",
    "/reports/conversations",
    summary="List conversation reports",
    scopes=READERS,
    params=Empty,
    query=ReportQueryIn,
    body=Empty,
    response=ReportPageOut,
    media=(CSV,),
)
async def list_conversation_reports(
    call: Call[Empty, ReportQueryIn, Empty],
) -> ReportPageOut | Media:
    """Oldest end first. A report exists once its conversation has ended, and belongs to
    the time of its end. JSON pages (`limit`, `next_cursor`), or with `Accept: text/csv`
    every report from `cursor` on as one CSV document, streamed (RFC 4180, a header
    line, the JSON field names as columns)."""
    q = call.query
    query = ReportQuery(
        tenant_id=call.tenant_id,
        since=q.since,
        until=q.until,
        queue=None if q.queue is None else QueueName(q.queue),
        agent_id=None if q.agent_id is None else AgentId(q.agent_id),
        cursor=q.cursor,
        limit=MAX_PAGE_SIZE if call.media == CSV else q.limit,
        channel=q.channel,
    )
    # The first page is read before anything is sent: a bad cursor is still a problem.
    first = await call.services.reports.conversations(query)
    if call.media == CSV:
        return Media(content_type=CSV_CONTENT_TYPE, body=_csv(call.services.reports, query, first))
    return ReportPageOut(
        items=[report_out(report) for report in first.reports], next_cursor=first.next_cursor
    )


async def _csv(
    reports: ReportService, query: ReportQuery, page: ReportPage
) -> AsyncIterator[bytes]:
    header = True
    while True:
        yield "".join(csv_lines(page.reports, header=header)).encode()
        header = False
        if page.next_cursor is None:
            return
        page = await reports.conversations(dataclasses.replace(query, cursor=page.next_cursor))


@resource.route(
    "GET",
    "/reports/conversations/{conversation_id}",
    summary="Get a conversation's report",
    scopes=READERS,
    params=ReportPath,
    query=Empty,
    body=Empty,
    response=ReportOut,
)
async def get_conversation_report(call: Call[ReportPath, Empty, Empty]) -> ReportOut:
    """404 until the conversation has ended."""
    report = await call.services.reports.get(
        call.tenant_id, ConversationId(call.params.conversation_id)
    )
    return report_out(report)


@resource.route(
    "GET",
    "/reports/queues/daily",
    summary="Per-queue daily figures",
    scopes=READERS,
    params=Empty,
    query=QueueDaysQuery,
    body=Empty,
    response=QueueDays,
)
async def list_queue_days(call: Call[Empty, QueueDaysQuery, Empty]) -> QueueDays:
    """Per queue and UTC day (of the conversations' end), from `first_day` to
    `last_day`: conversations, answered, abandoned, average and percentile waits,
    average handle time."""
    q = call.query
    days = await call.services.reports.queue_days(
        call.tenant_id,
        first_day=q.first_day,
        last_day=q.last_day,
        queue=None if q.queue is None else QueueName(q.queue),
    )
    return QueueDays(items=[queue_day_out(day) for day in days])
