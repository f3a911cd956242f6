"""Canned responses, by (tenant, queue, name); a tenant-wide one is stored with queue ''."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.model import CannedResponse, QueueName, TenantId
from business.rich import rich_to_json, stored_rich
from data.models import CannedResponseRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows

_TENANT_WIDE = ""
_KEY = [CannedResponseRow.tenant_id, CannedResponseRow.queue, CannedResponseRow.name]


def _column(queue: QueueName | None) -> str:
    return _TENANT_WIDE if queue is None else queue


def _response(row: CannedResponseRow) -> CannedResponse:
    return CannedResponse(
        tenant_id=TenantId(row.tenant_id),
        queue=None if row.queue == _TENANT_WIDE else QueueName(row.queue),
        name=row.name,
        text=row.text,
        created_at=row.created_at,
        rich=None if row.rich is None else stored_rich(row.rich),
    )


class SqlCannedRepository:
    """``business.canned_ports.CannedRepository`` through the unit of work's ORM session
    (configuration, not the message path: nothing is cached)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, tenant_id: TenantId, queue: QueueName | None, name: str
    ) -> CannedResponse | None:
        row = await (await self._ctx.orm()).get(
            CannedResponseRow, (tenant_id, _column(queue), name), populate_existing=True
        )
        return None if row is None else _response(row)

    async def put(self, response: CannedResponse) -> None:
        # One statement, so two first writes of a name at once cannot both insert.
        values = {
            "tenant_id": response.tenant_id,
            "queue": _column(response.queue),
            "name": response.name,
            "text": response.text,
            "created_at": response.created_at,
            "rich": None if response.rich is None else rich_to_json(response.rich),
        }
        session = await self._ctx.orm()
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(CannedResponseRow).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=_KEY, set_={"text": pg.excluded.text, "rich": pg.excluded.rich}
                )
            )
        else:
            lite = sqlite_insert(CannedResponseRow).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=_KEY,
                    set_={"text": lite.excluded.text, "rich": lite.excluded.rich},
                )
            )

    async def remove(self, tenant_id: TenantId, queue: QueueName | None, name: str) -> bool:
        result = await (await self._ctx.orm()).execute(
            delete(CannedResponseRow)
            .where(
                CannedResponseRow.tenant_id == tenant_id,
                CannedResponseRow.queue == _column(queue),
                CannedResponseRow.name == name,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list(
        self, tenant_id: TenantId, queues: Sequence[QueueName | None] | None = None
    ) -> Sequence[CannedResponse]:
        stmt = (
            select(CannedResponseRow)
            .where(CannedResponseRow.tenant_id == tenant_id)
            .order_by(CannedResponseRow.queue, CannedResponseRow.name)
        )
        if queues is not None:
            stmt = stmt.where(CannedResponseRow.queue.in_([_column(q) for q in queues]))
        return [_response(row) for row in await all_rows(self._ctx, stmt)]
