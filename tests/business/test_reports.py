"""``ReportService`` (pages, filters, daily figures) and ``LiveCountService`` on the fakes;
the same queries run on SQLite and PostgreSQL in ``tests/data/test_report_contract``."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
    VisitorId,
)
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.report_ports import ReportFigures
from business.reports import (
    QueueDay,
    ReportQuery,
    aggregate_days,
    decode_cursor,
    encode_cursor,
    percentile,
)
from tests.harness import ALICE, SALES, World

DAY1 = datetime(2026, 5, 4, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
OTHER = TenantId("other")
PLUS_TWO = timezone(timedelta(hours=2))


def metrics(
    n: int,
    ended_at: datetime,
    *,
    queue: QueueName = DEFAULT_QUEUE,
    tenant: TenantId = DEFAULT_TENANT,
    agent: AgentId | None = ALICE,
    outcome: ConversationOutcome = ConversationOutcome.ANSWERED,
    wait: float | None = 10.0,
    handle: float | None = 60.0,
) -> ConversationMetrics:
    """A hand-built report (the stager's own figures are tested on real ends)."""
    return ConversationMetrics(
        conversation_id=ConversationId(f"c-{n:03d}"),
        tenant_id=tenant,
        queue=queue,
        visitor_id=VisitorId(f"v-{n}"),
        agent_id=agent,
        agent_name=None if agent is None else "Alice",
        created_at=ended_at - timedelta(minutes=5),
        assigned_at=None if wait is None else ended_at - timedelta(minutes=4),
        ended_at=ended_at,
        ended_by=None,
        wait_seconds=wait,
        first_response_seconds=None if wait is None else 2.0,
        handle_seconds=handle,
        messages_visitor=1,
        messages_agent=0 if agent is None else 1,
        transfers=0,
        wrap_up=None,
        outcome=outcome,
    )


async def store(engine: World, *reports: ConversationMetrics) -> None:
    async with engine.uow() as uow:
        for report in reports:
            await uow.reports.put(report)
        await uow.commit()


# -- pages ------------------------------------------------------------------------------


async def test_pages_follow_the_cursor_to_the_end_oldest_end_first(engine: World) -> None:
    same_moment = DAY1 + timedelta(hours=9)
    made = [metrics(n, same_moment if n < 3 else DAY1 + timedelta(hours=n)) for n in range(7)]
    await store(engine, *reversed(made))

    seen: list[ConversationMetrics] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await engine.services.reports.conversations(
            ReportQuery(tenant_id=DEFAULT_TENANT, cursor=cursor, limit=3)
        )
        pages += 1
        seen.extend(page.reports)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor

    assert pages == 3
    assert seen == sorted(made, key=lambda m: (m.ended_at, m.conversation_id))


async def test_a_page_exactly_full_is_the_last_when_nothing_follows(engine: World) -> None:
    await store(engine, metrics(1, DAY1), metrics(2, DAY2))
    page = await engine.services.reports.conversations(
        ReportQuery(tenant_id=DEFAULT_TENANT, limit=2)
    )
    assert [r.conversation_id for r in page.reports] == ["c-001", "c-002"]
    assert page.next_cursor is None


async def test_filters_by_time_queue_and_agent_within_the_tenant(engine: World) -> None:
    await store(
        engine,
        metrics(1, DAY1),
        metrics(2, DAY1 + timedelta(hours=1), queue=SALES),
        metrics(3, DAY2, agent=None, outcome=ConversationOutcome.ABANDONED_IN_QUEUE, wait=None),
        metrics(4, DAY2, tenant=OTHER),
    )

    async def ids(**filters: object) -> list[str]:
        query = dataclasses.replace(ReportQuery(tenant_id=DEFAULT_TENANT), **filters)  # type: ignore[arg-type]
        page = await engine.services.reports.conversations(query)
        return [r.conversation_id for r in page.reports]

    assert await ids() == ["c-001", "c-002", "c-003"]
    assert await ids(tenant_id=OTHER) == ["c-004"]
    assert await ids(since=DAY1 + timedelta(minutes=1)) == ["c-002", "c-003"]
    assert await ids(until=DAY2) == ["c-001", "c-002"]  # until is not included
    assert await ids(queue=SALES) == ["c-002"]
    assert await ids(agent_id=ALICE) == ["c-001", "c-002"]
    assert await ids(agent_id=ALICE, queue=DEFAULT_QUEUE, since=DAY1, until=DAY2) == ["c-001"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (ReportQuery(tenant_id=DEFAULT_TENANT, limit=0), "limit"),
        (ReportQuery(tenant_id=DEFAULT_TENANT, limit=1001), "limit"),
        (ReportQuery(tenant_id=DEFAULT_TENANT, since=DAY2, until=DAY1), "until"),
        (ReportQuery(tenant_id=DEFAULT_TENANT, since=datetime(2026, 5, 4)), "time zone"),
        (ReportQuery(tenant_id=DEFAULT_TENANT, cursor="not-ours"), "cursor"),
        (ReportQuery(tenant_id=DEFAULT_TENANT, cursor="!!"), "cursor"),
    ],
)
async def test_bad_queries_are_refused_saying_what(
    engine: World, query: ReportQuery, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await engine.services.reports.conversations(query)


def test_a_cursor_names_the_last_report_of_its_page() -> None:
    last = metrics(7, DAY1 + timedelta(microseconds=5))
    key = decode_cursor(encode_cursor(last))
    assert (key.ended_at, key.conversation_id) == (last.ended_at, last.conversation_id)


async def test_one_report_by_id_only_within_its_tenant(engine: World) -> None:
    report = metrics(1, DAY1)
    await store(engine, report)
    assert await engine.services.reports.get(DEFAULT_TENANT, report.conversation_id) == report
    with pytest.raises(NotFound):
        await engine.services.reports.get(OTHER, report.conversation_id)
    with pytest.raises(NotFound):
        await engine.services.reports.get(DEFAULT_TENANT, ConversationId("c-999"))


# -- daily figures ----------------------------------------------------------------------


def figures(
    queue: QueueName,
    ended_at: datetime,
    outcome: ConversationOutcome,
    wait: float | None,
    handle: float | None,
) -> ReportFigures:
    return ReportFigures(
        queue=queue, ended_at=ended_at, outcome=outcome, wait_seconds=wait, handle_seconds=handle
    )


ANSWERED = ConversationOutcome.ANSWERED
ABANDONED = ConversationOutcome.ABANDONED_IN_QUEUE
LEFT = ConversationOutcome.VISITOR_LEFT

HAND_BUILT = [
    # Day 1, support: four taken (waits 5, 10, 20, 40), one abandoned.
    figures(DEFAULT_QUEUE, DAY1 + timedelta(hours=8), ANSWERED, 5.0, 100.0),
    figures(DEFAULT_QUEUE, DAY1 + timedelta(hours=9), ANSWERED, 40.0, 300.0),
    figures(DEFAULT_QUEUE, DAY1 + timedelta(hours=10), LEFT, 10.0, 20.0),
    figures(DEFAULT_QUEUE, DAY1 + timedelta(hours=11), ANSWERED, 20.0, 180.0),
    figures(DEFAULT_QUEUE, DAY1 + timedelta(hours=12), ABANDONED, None, None),
    # Day 1, sales: one abandoned only.
    figures(SALES, DAY1 + timedelta(hours=23, minutes=59, seconds=59), ABANDONED, None, None),
    # Day 2, support: one, at midnight UTC sharp (day 2, not day 1).
    figures(DEFAULT_QUEUE, DAY2, ANSWERED, 3.0, 30.0),
    # Day 2, sales: two answered, written in another time zone.
    figures(SALES, (DAY2 + timedelta(hours=1)).astimezone(PLUS_TWO), ANSWERED, 7.0, 70.0),
    figures(SALES, DAY2 + timedelta(hours=2), ANSWERED, 9.0, 90.0),
]

EXPECTED = [
    QueueDay(
        queue=SALES,
        day=date(2026, 5, 4),
        conversations=1,
        answered=0,
        abandoned=1,
        average_wait_seconds=None,
        wait_p50_seconds=None,
        wait_p90_seconds=None,
        average_handle_seconds=None,
    ),
    QueueDay(
        queue=DEFAULT_QUEUE,
        day=date(2026, 5, 4),
        conversations=5,
        answered=3,
        abandoned=1,
        average_wait_seconds=18.75,
        wait_p50_seconds=10.0,
        wait_p90_seconds=40.0,
        average_handle_seconds=150.0,
    ),
    QueueDay(
        queue=SALES,
        day=date(2026, 5, 5),
        conversations=2,
        answered=2,
        abandoned=0,
        average_wait_seconds=8.0,
        wait_p50_seconds=7.0,
        wait_p90_seconds=9.0,
        average_handle_seconds=80.0,
    ),
    QueueDay(
        queue=DEFAULT_QUEUE,
        day=date(2026, 5, 5),
        conversations=1,
        answered=1,
        abandoned=0,
        average_wait_seconds=3.0,
        wait_p50_seconds=3.0,
        wait_p90_seconds=3.0,
        average_handle_seconds=30.0,
    ),
]


def test_daily_figures_per_queue_and_utc_day() -> None:
    assert aggregate_days(HAND_BUILT) == EXPECTED


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([4.0], 90) == 4.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 75) == 3.0
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 90) == 10.0


async def test_queue_days_through_the_service(engine: World) -> None:
    await store(
        engine,
        metrics(1, DAY1 + timedelta(hours=3), wait=4.0, handle=40.0),
        metrics(2, DAY1 + timedelta(hours=4), queue=SALES, wait=6.0, handle=10.0),
        metrics(3, DAY2 + timedelta(hours=4), wait=8.0, handle=20.0),
        metrics(4, DAY1 + timedelta(hours=5), tenant=OTHER),
    )
    days = await engine.services.reports.queue_days(
        DEFAULT_TENANT, first_day=date(2026, 5, 4), last_day=date(2026, 5, 4)
    )
    assert [(d.day, d.queue, d.conversations, d.average_wait_seconds) for d in days] == [
        (date(2026, 5, 4), SALES, 1, 6.0),
        (date(2026, 5, 4), DEFAULT_QUEUE, 1, 4.0),
    ]
    days = await engine.services.reports.queue_days(
        DEFAULT_TENANT, first_day=date(2026, 5, 4), last_day=date(2026, 5, 5), queue=DEFAULT_QUEUE
    )
    assert [(d.day, d.average_handle_seconds) for d in days] == [
        (date(2026, 5, 4), 40.0),
        (date(2026, 5, 5), 20.0),
    ]


async def test_queue_days_refuse_a_backwards_or_too_long_range(engine: World) -> None:
    reports = engine.services.reports
    with pytest.raises(InvalidInput, match="before"):
        await reports.queue_days(
            DEFAULT_TENANT, first_day=date(2026, 5, 5), last_day=date(2026, 5, 4)
        )
    # 366 days are one range (a leap year); 367 are not.
    await reports.queue_days(
        DEFAULT_TENANT, first_day=date(2024, 1, 1), last_day=date(2024, 12, 31)
    )
    with pytest.raises(InvalidInput, match="366"):
        await reports.queue_days(
            DEFAULT_TENANT, first_day=date(2024, 1, 1), last_day=date(2025, 1, 1)
        )


# -- live counts ------------------------------------------------------------------------


async def test_live_counts_are_read_at_most_every_few_seconds(engine: World) -> None:
    await engine.agent(ALICE, name="Alice", max_chats=1)
    first = await engine.start(await engine.visitor(), "hi")  # Alice takes it
    await engine.start(await engine.visitor(), "hello")  # waits
    live = engine.services.live_counts  # on the world's clock, 5 s by default

    counts = await live.counts()
    assert counts.conversations == {
        (DEFAULT_TENANT, DEFAULT_QUEUE, ConversationState.ACTIVE): 1,
        (DEFAULT_TENANT, DEFAULT_QUEUE, ConversationState.QUEUED): 1,
    }
    assert counts.waiting == {(DEFAULT_TENANT, DEFAULT_QUEUE): 1, (DEFAULT_TENANT, SALES): 0}

    await engine.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=first.visitor_id, conversation_id=first.id)
    )
    engine.advance(4.9)
    assert await live.counts() is counts  # still the same read
    engine.advance(0.1)
    later = await live.counts()
    # The waiting chat went to Alice when her first one ended.
    assert later.conversations == {(DEFAULT_TENANT, DEFAULT_QUEUE, ConversationState.ACTIVE): 1}
    assert later.waiting[(DEFAULT_TENANT, DEFAULT_QUEUE)] == 0
