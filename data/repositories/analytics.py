"""Web analytics counters (``business.analytics_ports``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.analytics_ports import AnalyticsCount, AnalyticsKind, CounterKey
from business.model import TenantId
from data.models_analytics import AnalyticsCountRow
from data.repositories.base import SqlContext

_KEY = [
    AnalyticsCountRow.tenant_id,
    AnalyticsCountRow.day,
    AnalyticsCountRow.kind,
    AnalyticsCountRow.trigger_id,
]


class SqlAnalyticsRepository:
    """``business.analytics_ports.AnalyticsRepository`` through the unit of work's ORM
    session. One upsert that adds per counter: concurrent batches for the same counter
    never lose a count (the database adds to the stored value, nobody reads it first)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, tenant_id: TenantId, day: date, counts: Mapping[CounterKey, int]) -> None:
        rows = [
            {"tenant_id": tenant_id, "day": day, "kind": kind.value, "trigger_id": t, "count": n}
            for (kind, t), n in sorted(counts.items())
        ]
        if not rows:
            return
        session = await self._ctx.orm()
        stmt: Any
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(AnalyticsCountRow).values(rows)
            stmt = pg.on_conflict_do_update(
                index_elements=_KEY, set_={"count": AnalyticsCountRow.count + pg.excluded.count}
            )
        else:
            lite = sqlite_insert(AnalyticsCountRow).values(rows)
            stmt = lite.on_conflict_do_update(
                index_elements=_KEY,
                set_={"count": AnalyticsCountRow.count + lite.excluded.count},
            )
        await session.execute(stmt)

    async def counts(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> Sequence[AnalyticsCount]:
        session = await self._ctx.orm()
        found = await session.execute(
            select(
                AnalyticsCountRow.day,
                AnalyticsCountRow.kind,
                AnalyticsCountRow.trigger_id,
                AnalyticsCountRow.count,
            ).where(
                AnalyticsCountRow.tenant_id == tenant_id,
                AnalyticsCountRow.day >= first_day,
                AnalyticsCountRow.day <= last_day,
            )
        )
        return [
            AnalyticsCount(day=day, kind=AnalyticsKind(kind), trigger_id=trigger, count=count)
            for day, kind, trigger, count in found.all()
        ]
