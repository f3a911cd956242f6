"""Adapter state: small JSON records by (adapter, key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.ports import JsonValue
from data.models import AdapterStateRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows


class SqlAdapterStateRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, adapter: str, key: str) -> Mapping[str, JsonValue] | None:
        row = await (await self._ctx.orm()).get(
            AdapterStateRow, (adapter, key), populate_existing=True
        )
        return None if row is None else dict(row.value)

    async def put(self, adapter: str, key: str, value: Mapping[str, JsonValue]) -> None:
        """Insert or replace in one statement, so two concurrent first writes cannot both
        try to insert (a read-then-insert would fail one of them on PostgreSQL)."""
        values = {"adapter": adapter, "key": key, "value": dict(value)}
        keys = [AdapterStateRow.adapter, AdapterStateRow.key]
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(AdapterStateRow).values(values)
            await (await self._ctx.orm()).execute(
                pg.on_conflict_do_update(index_elements=keys, set_={"value": pg.excluded.value})
            )
        else:
            lite = sqlite_insert(AdapterStateRow).values(values)
            await (await self._ctx.orm()).execute(
                lite.on_conflict_do_update(index_elements=keys, set_={"value": lite.excluded.value})
            )

    async def list(self, adapter: str) -> Sequence[tuple[str, Mapping[str, JsonValue]]]:
        stmt = (
            select(AdapterStateRow)
            .where(AdapterStateRow.adapter == adapter)
            .order_by(AdapterStateRow.key)
        )
        return [(row.key, dict(row.value)) for row in await all_rows(self._ctx, stmt)]
