"""The report and live-count repositories' contract, on the fakes, SQLite and PostgreSQL;
and the daily figures of a hand-built set computed from what each store returns."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    ParticipantKind,
    QueueName,
    TenantId,
)
from business.ports import UnitOfWorkFactory
from business.publishing import EventPublisher
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.report_ports import ReportFilter, ReportKey
from business.reports import QueueDay, ReportService
from business.transactions import Transactions
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    OTHER_VISITOR,
    SALES,
    SUPPORT,
    T0,
    TENANT,
    VISITOR,
    add_conversations,
    assert_utc,
    at,
    conversation,
    seed,
)


def report(n: int, seconds: float, **changes: object) -> ConversationMetrics:
    """A report with every field set (none at its default), ended ``seconds`` after T0."""
    base = ConversationMetrics(
        conversation_id=ConversationId(f"c-{n:03d}"),
        tenant_id=TENANT,
        queue=SUPPORT,
        visitor_id=VISITOR,
        agent_id=ALICE,
        agent_name="Alice Ä",
        created_at=at(seconds - 100),
        assigned_at=at(seconds - 80.5),
        ended_at=at(seconds),
        ended_by=ParticipantKind.AGENT,
        wait_seconds=19.5,
        first_response_seconds=0.125,
        handle_seconds=80.5,
        messages_visitor=3,
        messages_agent=2,
        transfers=1,
        bot_handled=True,
        wrap_up="resolved",
        outcome=ConversationOutcome.ANSWERED,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def put(uow_factory: UnitOfWorkFactory, *reports: ConversationMetrics) -> None:
    async with uow_factory() as uow:
        for one in reports:
            await uow.reports.put(one)
        await uow.commit()


async def test_a_report_round_trips_and_a_second_put_replaces_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = report(1, 500)
    await put(uow_factory, first)
    async with uow_factory() as uow:
        found = await uow.reports.get(first.conversation_id)
        assert found == first
        assert found is not None
        for value in (found.created_at, found.assigned_at, found.ended_at):
            assert_utc(value)
        assert await uow.reports.get(ConversationId("c-none")) is None

    unanswered = report(
        1,
        500,
        agent_id=None,
        agent_name=None,
        assigned_at=None,
        ended_by=None,
        wait_seconds=None,
        first_response_seconds=None,
        handle_seconds=None,
        messages_agent=0,
        transfers=0,
        bot_handled=False,
        wrap_up=None,
        outcome=ConversationOutcome.CLOSED_IN_QUEUE,
    )
    await put(uow_factory, unanswered)
    async with uow_factory() as uow:
        assert await uow.reports.get(first.conversation_id) == unanswered


async def test_list_filters_orders_and_pages_by_end_then_id(
    uow_factory: UnitOfWorkFactory,
) -> None:
    rows = [
        report(5, 10),
        report(4, 10),  # the same end: by id
        report(3, 20, queue=SALES),
        report(2, 30, agent_id=BOB, agent_name="Bob"),
        report(1, 40, tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR),
    ]
    await put(uow_factory, *rows)

    async def ids(
        which: ReportFilter, after: ReportKey | None = None, limit: int = 10
    ) -> list[str]:
        async with uow_factory() as uow:
            return [
                r.conversation_id for r in await uow.reports.list(which, after=after, limit=limit)
            ]

    mine = ReportFilter(tenant_id=TENANT)
    assert await ids(mine) == ["c-004", "c-005", "c-003", "c-002"]
    assert await ids(ReportFilter(tenant_id=OTHER_TENANT)) == ["c-001"]
    assert await ids(ReportFilter(tenant_id=TenantId("nobody"))) == []
    assert await ids(mine, limit=2) == ["c-004", "c-005"]
    # After the first of two reports that ended at the same moment: the second one.
    assert await ids(mine, ReportKey(ended_at=at(10), conversation_id=ConversationId("c-004"))) == [
        "c-005",
        "c-003",
        "c-002",
    ]
    assert await ids(mine, ReportKey(ended_at=at(20), conversation_id=ConversationId("c-003"))) == [
        "c-002"
    ]
    assert await ids(dataclasses.replace(mine, since=at(20))) == ["c-003", "c-002"]
    assert await ids(dataclasses.replace(mine, until=at(20))) == ["c-004", "c-005"]
    assert await ids(dataclasses.replace(mine, queue=SALES)) == ["c-003"]
    assert await ids(dataclasses.replace(mine, agent_id=BOB)) == ["c-002"]
    assert await ids(dataclasses.replace(mine, agent_id=AgentId("a-nobody"))) == []


async def test_figures_are_what_the_daily_aggregates_need(uow_factory: UnitOfWorkFactory) -> None:
    await put(
        uow_factory,
        report(
            1,
            10,
            wait_seconds=None,
            handle_seconds=None,
            outcome=ConversationOutcome.ABANDONED_IN_QUEUE,
        ),
        report(2, 20, queue=SALES),
        report(3, 30, tenant_id=OTHER_TENANT),
    )
    async with uow_factory() as uow:
        found = await uow.reports.figures(ReportFilter(tenant_id=TENANT, since=at(5), until=at(30)))
    assert sorted(
        (f.queue, f.ended_at, f.outcome, f.wait_seconds, f.handle_seconds) for f in found
    ) == [
        (SALES, at(20), ConversationOutcome.ANSWERED, 19.5, 80.5),
        (SUPPORT, at(10), ConversationOutcome.ABANDONED_IN_QUEUE, None, None),
    ]


async def test_daily_figures_of_two_queues_over_two_days(uow_factory: UnitOfWorkFactory) -> None:
    day1 = T0.replace(hour=0, minute=0, second=0, microsecond=0)  # 2026-03-04 00:00 UTC
    day2 = day1 + timedelta(days=1)

    def one(
        n: int,
        ended: timedelta,
        queue: QueueName,
        wait: float | None,
        handle: float | None,
        outcome: ConversationOutcome = ConversationOutcome.ANSWERED,
    ) -> ConversationMetrics:
        return report(
            n,
            0,
            ended_at=day1 + ended,
            queue=queue,
            wait_seconds=wait,
            handle_seconds=handle,
            outcome=outcome,
        )

    abandoned = ConversationOutcome.ABANDONED_IN_QUEUE
    await put(
        uow_factory,
        one(1, timedelta(hours=8), SUPPORT, 5.0, 100.0),
        one(2, timedelta(hours=9), SUPPORT, 40.0, 300.0),
        one(3, timedelta(hours=10), SUPPORT, 10.0, 20.0, ConversationOutcome.VISITOR_LEFT),
        one(4, timedelta(hours=11), SUPPORT, 20.0, 180.0),
        one(5, timedelta(hours=12), SUPPORT, None, None, abandoned),
        one(
            6,
            timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
            SALES,
            None,
            None,
            abandoned,
        ),
        one(7, timedelta(days=1), SUPPORT, 3.0, 30.0),  # midnight sharp: day 2
        one(8, timedelta(days=1, hours=1), SALES, 7.0, 70.0),
        one(9, timedelta(days=1, hours=2), SALES, 9.0, 90.0),
        one(10, timedelta(days=2), SALES, 1.0, 1.0),  # day 3: outside
        one(11, -timedelta(microseconds=1), SALES, 1.0, 1.0),  # day 0: outside
        dataclasses.replace(
            one(12, timedelta(hours=8), SUPPORT, 99.0, 99.0), tenant_id=OTHER_TENANT
        ),
    )
    service = ReportService(transactions=Transactions(uow_factory, EventPublisher()))

    days = await service.queue_days(TENANT, first_day=day1.date(), last_day=day2.date())

    d1, d2 = day1.date(), day2.date()
    assert days == [
        QueueDay(
            queue=SALES,
            day=d1,
            conversations=1,
            answered=0,
            abandoned=1,
            average_wait_seconds=None,
            wait_p50_seconds=None,
            wait_p90_seconds=None,
            average_handle_seconds=None,
        ),
        QueueDay(
            queue=SUPPORT,
            day=d1,
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
            day=d2,
            conversations=2,
            answered=2,
            abandoned=0,
            average_wait_seconds=8.0,
            wait_p50_seconds=7.0,
            wait_p90_seconds=9.0,
            average_handle_seconds=80.0,
        ),
        QueueDay(
            queue=SUPPORT,
            day=d2,
            conversations=1,
            answered=1,
            abandoned=0,
            average_wait_seconds=3.0,
            wait_p50_seconds=3.0,
            wait_p90_seconds=3.0,
            average_handle_seconds=30.0,
        ),
    ]
    only_sales = await service.queue_days(TENANT, first_day=d1, last_day=d1, queue=SALES)
    assert [(d.day, d.queue, d.conversations) for d in only_sales] == [(d1, SALES, 1)]
    assert d1 == date(2026, 3, 4)


# -- live counts ------------------------------------------------------------------------


async def test_live_counts_count_open_conversations_and_list_every_queue(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    bot, queued, active, held, ended = (
        ConversationState.BOT,
        ConversationState.QUEUED,
        ConversationState.ACTIVE,
        ConversationState.ON_HOLD,
        ConversationState.ENDED,
    )
    await add_conversations(
        uow_factory,
        conversation("c-1", state=queued),
        conversation("c-2", state=queued),
        conversation("c-3", state=active, agent_id=ALICE),
        conversation("c-4", state=held, agent_id=ALICE),
        conversation("c-5", state=ended),
        conversation("c-6", state=active, queue=SALES, agent_id=BOB),
        conversation("c-7", state=queued, tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR),
        conversation("c-8", state=bot, queue=SALES),
    )
    async with uow_factory() as uow:
        await uow.queues.add_waiting(TENANT, SUPPORT, 2)
        await uow.queues.add_waiting(OTHER_TENANT, SUPPORT, 1)
        await uow.commit()

    async with uow_factory() as uow:
        counts = {
            (c.tenant_id, c.queue, c.state): c.conversations
            for c in await uow.live_counts.open_conversations()
        }
        lengths = {(q.tenant_id, q.queue): q.waiting for q in await uow.live_counts.queue_lengths()}

    assert counts == {
        (TENANT, SUPPORT, queued): 2,
        (TENANT, SUPPORT, active): 1,
        (TENANT, SUPPORT, held): 1,
        (TENANT, SALES, active): 1,
        (TENANT, SALES, bot): 1,
        (OTHER_TENANT, SUPPORT, queued): 1,
    }
    assert lengths == {
        (TENANT, SUPPORT): 2,
        (TENANT, SALES): 0,
        (OTHER_TENANT, SUPPORT): 1,
        (OTHER_TENANT, SALES): 0,
    }
