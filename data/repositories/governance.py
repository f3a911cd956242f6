"""Retention settings and the audit log (``business.governance_ports``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.governance_ports import AuditEntry, RetentionSettings
from business.model import TenantId
from data.models_governance import AuditLogRow, RetentionSettingsRow
from data.repositories.base import SqlContext


class SqlRetentionSettingsRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> RetentionSettings | None:
        session = await self._ctx.orm()
        row = await session.get(RetentionSettingsRow, tenant_id, populate_existing=True)
        return None if row is None else _settings(row)

    async def put(self, tenant_id: TenantId, settings: RetentionSettings, at: datetime) -> None:
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "conversations_days": settings.conversations_days,
            "visitors_days": settings.visitors_days,
            "updated_at": at,
        }
        changed = ("conversations_days", "visitors_days", "updated_at")
        session = await self._ctx.orm()
        # One statement, so two first writes at once cannot both insert.
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(RetentionSettingsRow).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[RetentionSettingsRow.tenant_id],
                    set_={name: pg.excluded[name] for name in changed},
                )
            )
        else:
            lite = sqlite_insert(RetentionSettingsRow).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[RetentionSettingsRow.tenant_id],
                    set_={name: lite.excluded[name] for name in changed},
                )
            )

    async def all(self) -> Mapping[TenantId, RetentionSettings]:
        session = await self._ctx.orm()
        rows = await session.scalars(
            select(RetentionSettingsRow).where(
                or_(
                    RetentionSettingsRow.conversations_days.is_not(None),
                    RetentionSettingsRow.visitors_days.is_not(None),
                )
            )
        )
        return {TenantId(row.tenant_id): _settings(row) for row in rows}


def _settings(row: RetentionSettingsRow) -> RetentionSettings:
    return RetentionSettings(
        conversations_days=row.conversations_days, visitors_days=row.visitors_days
    )


class SqlAuditLogRepository:
    """Inserts and reads only (see ``AuditLogRow``)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def append(self, entry: AuditEntry) -> None:
        session = await self._ctx.orm()
        session.add(
            AuditLogRow(
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                tenant_id=entry.tenant_id,
                target=entry.target,
                detail=dict(entry.detail),
            )
        )
        await session.flush()

    async def list(
        self, *, tenant_id: TenantId | None, since: datetime | None, limit: int
    ) -> Sequence[AuditEntry]:
        session = await self._ctx.orm()
        query = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
        if tenant_id is not None:
            query = query.where(AuditLogRow.tenant_id == tenant_id)
        if since is not None:
            query = query.where(AuditLogRow.at >= since)
        return [
            AuditEntry(
                id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                tenant_id=None if row.tenant_id is None else TenantId(row.tenant_id),
                target=row.target,
                detail=row.detail,
            )
            for row in await session.scalars(query)
        ]
