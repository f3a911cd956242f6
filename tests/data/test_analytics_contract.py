"""The web analytics counters' contract, on the fakes, SQLite and PostgreSQL: adding
creates and then adds to a counter (also from two transactions at once), and a read
returns one tenant's counters of a range of days."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, timedelta

from business.analytics_ports import NO_TRIGGER, AnalyticsCount, AnalyticsKind, CounterKey
from business.model import TenantId
from business.ports import UnitOfWorkFactory
from tests.data.contract_support import OTHER_TENANT, TENANT, seed

DAY = date(2026, 5, 4)
VIEW = (AnalyticsKind.PAGE_VIEW, NO_TRIGGER)
SHOWN = (AnalyticsKind.IMPRESSION, "welcome")
OPENED = (AnalyticsKind.ENGAGEMENT, "welcome")


async def _add(
    uow_factory: UnitOfWorkFactory,
    day: date,
    counts: Mapping[CounterKey, int],
    tenant: TenantId = TENANT,
) -> None:
    async with uow_factory() as uow:
        await uow.analytics.add(tenant, day, counts)
        await uow.commit()


async def _read(uow_factory: UnitOfWorkFactory, first: date, last: date) -> set[AnalyticsCount]:
    async with uow_factory() as uow:
        return set(await uow.analytics.counts(TENANT, first_day=first, last_day=last))


def _count(day: date, key: CounterKey, n: int) -> AnalyticsCount:
    return AnalyticsCount(day=day, kind=key[0], trigger_id=key[1], count=n)


async def test_counters_are_created_then_added_to(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await _add(uow_factory, DAY, {VIEW: 3, SHOWN: 2})
    await _add(uow_factory, DAY, {VIEW: 1, OPENED: 1})
    await _add(uow_factory, DAY + timedelta(days=1), {SHOWN: 5})
    await _add(uow_factory, DAY, {VIEW: 100}, tenant=OTHER_TENANT)

    assert await _read(uow_factory, DAY, DAY) == {
        _count(DAY, VIEW, 4),
        _count(DAY, SHOWN, 2),
        _count(DAY, OPENED, 1),
    }
    both = await _read(uow_factory, DAY, DAY + timedelta(days=1))
    assert _count(DAY + timedelta(days=1), SHOWN, 5) in both
    assert len(both) == 4
    assert await _read(uow_factory, DAY - timedelta(days=3), DAY - timedelta(days=1)) == set()


async def test_an_uncommitted_add_counts_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.analytics.add(TENANT, DAY, {VIEW: 7})
    assert await _read(uow_factory, DAY, DAY) == set()


async def test_two_transactions_adding_at_once_both_count(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await _add(uow_factory, DAY, {VIEW: 1})
    await asyncio.gather(*(_add(uow_factory, DAY, {VIEW: 1, SHOWN: 1}) for _ in range(5)))
    assert await _read(uow_factory, DAY, DAY) == {_count(DAY, VIEW, 6), _count(DAY, SHOWN, 5)}
