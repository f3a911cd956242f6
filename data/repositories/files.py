"""Shared files' metadata and the tenants' upload limits (``business.file_ports``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.file_model import FileId, FileLimits, FileOwner, StoredFile
from business.model import ConversationId, TenantId, VisitorId
from data.models_files import FileLimitsRow, FileRow
from data.repositories.base import SqlContext


class SqlFileRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, file: StoredFile) -> None:
        session = await self._ctx.orm()
        session.add(
            FileRow(
                id=file.id,
                tenant_id=file.tenant_id,
                conversation_id=file.conversation_id,
                visitor_id=file.visitor_id,
                owner=file.owner.value,
                name=file.name,
                content_type=file.content_type,
                size=file.size,
                created_at=file.created_at,
            )
        )

    async def get(self, file_id: FileId) -> StoredFile | None:
        row = await (await self._ctx.orm()).get(FileRow, file_id, populate_existing=True)
        return None if row is None else _stored(row)

    async def limits(self, tenant_id: TenantId) -> FileLimits | None:
        row = await (await self._ctx.orm()).get(FileLimitsRow, tenant_id, populate_existing=True)
        if row is None:
            return None
        return FileLimits(
            max_bytes=row.max_bytes,
            allowed_types=tuple(row.allowed_types),
            retention_days=row.retention_days,
        )

    async def put_limits(self, tenant_id: TenantId, limits: FileLimits) -> None:
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "max_bytes": limits.max_bytes,
            "allowed_types": list(limits.allowed_types),
            "retention_days": limits.retention_days,
        }
        changed = ("max_bytes", "allowed_types", "retention_days")
        session = await self._ctx.orm()
        # One statement, so two first writes at once cannot both insert.
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(FileLimitsRow).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[FileLimitsRow.tenant_id],
                    set_={name: pg.excluded[name] for name in changed},
                )
            )
        else:
            lite = sqlite_insert(FileLimitsRow).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[FileLimitsRow.tenant_id],
                    set_={name: lite.excluded[name] for name in changed},
                )
            )

    async def retentions(self) -> Mapping[TenantId, int]:
        session = await self._ctx.orm()
        rows = await session.execute(
            select(FileLimitsRow.tenant_id, FileLimitsRow.retention_days).where(
                FileLimitsRow.retention_days.is_not(None)
            )
        )
        return {TenantId(tenant): days for tenant, days in rows if days is not None}

    async def created_before(
        self, tenant_id: TenantId, before: datetime, *, limit: int
    ) -> Sequence[StoredFile]:
        session = await self._ctx.orm()
        rows = await session.scalars(
            select(FileRow)
            .where(FileRow.tenant_id == tenant_id, FileRow.created_at < before)
            .order_by(FileRow.created_at, FileRow.id)
            .limit(limit)
        )
        return [_stored(row) for row in rows]

    async def count_before(self, tenant_id: TenantId, before: datetime) -> tuple[int, int]:
        session = await self._ctx.orm()
        count, size = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(FileRow.size), 0)).where(
                    FileRow.tenant_id == tenant_id, FileRow.created_at < before
                )
            )
        ).one()
        return int(count), int(size)

    async def delete(self, file_ids: Sequence[FileId]) -> None:
        if not file_ids:
            return
        session = await self._ctx.orm()
        await session.execute(
            delete(FileRow)
            .where(FileRow.id.in_(list(file_ids)))
            .execution_options(synchronize_session=False)
        )


def _stored(row: FileRow) -> StoredFile:
    return StoredFile(
        id=FileId(row.id),
        tenant_id=TenantId(row.tenant_id),
        conversation_id=ConversationId(row.conversation_id),
        visitor_id=None if row.visitor_id is None else VisitorId(row.visitor_id),
        owner=FileOwner(row.owner),
        name=row.name,
        content_type=row.content_type,
        size=row.size,
        created_at=row.created_at,
    )
