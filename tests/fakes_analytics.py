"""In-memory fake of the web analytics port (``tests.fakes`` wires it into
``FakeUnitOfWork``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from business.analytics_ports import AnalyticsCount, AnalyticsKind, CounterKey
from business.model import TenantId

StoredCounts = dict[tuple[TenantId, date, AnalyticsKind, str], int]


class FakeAnalytics:
    """Over the store's ``analytics`` table (a dict the unit of work copies and commits)."""

    def __init__(self, rows: StoredCounts) -> None:
        self._rows = rows

    async def add(self, tenant_id: TenantId, day: date, counts: Mapping[CounterKey, int]) -> None:
        for (kind, trigger), n in counts.items():
            key = (tenant_id, day, kind, trigger)
            self._rows[key] = self._rows.get(key, 0) + n

    async def counts(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> Sequence[AnalyticsCount]:
        return [
            AnalyticsCount(day=day, kind=kind, trigger_id=trigger, count=n)
            for (tenant, day, kind, trigger), n in self._rows.items()
            if tenant == tenant_id and first_day <= day <= last_day
        ]
