"""API keys, by id; never cached here (``business.api_keys`` remembers the keys that
passed, and forgets a revoked one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Update, select, update

from business.api_key_ports import StoredApiKey
from business.model import ApiKey, ApiKeyId, ApiKeyScope, TenantId
from data.models import ApiKeyRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=ApiKeyId(row.id),
        tenant_id=None if row.tenant_id is None else TenantId(row.tenant_id),
        scope=ApiKeyScope(row.scope),
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class SqlApiKeyRepository:
    """``business.api_key_ports.ApiKeyRepository`` through the unit of work's ORM
    session."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, key: ApiKey, secret_hash: str) -> None:
        session = await self._ctx.orm()
        session.add(
            ApiKeyRow(
                id=key.id,
                tenant_id=key.tenant_id,
                scope=key.scope.value,
                name=key.name,
                secret_hash=secret_hash,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                last_used_at=key.last_used_at,
            )
        )
        await session.flush()

    async def get(self, key_id: ApiKeyId) -> StoredApiKey | None:
        row = await (await self._ctx.orm()).get(ApiKeyRow, key_id, populate_existing=True)
        return None if row is None else StoredApiKey(key=_key(row), secret_hash=row.secret_hash)

    async def list(
        self, tenant_id: TenantId | None, *, after: ApiKeyId | None, limit: int
    ) -> Sequence[ApiKey]:
        stmt = select(ApiKeyRow).order_by(ApiKeyRow.id).limit(limit)
        if tenant_id is not None:
            stmt = stmt.where(ApiKeyRow.tenant_id == tenant_id)
        if after is not None:
            stmt = stmt.where(ApiKeyRow.id > after)
        return [_key(row) for row in await all_rows(self._ctx, stmt)]

    async def revoke(self, key_id: ApiKeyId, at: datetime) -> None:
        await self._set(
            update(ApiKeyRow)
            .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def touch(self, key_id: ApiKeyId, at: datetime) -> None:
        await self._set(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=at))

    async def _set(self, stmt: Update) -> None:
        await (await self._ctx.orm()).execute(stmt.execution_options(synchronize_session=False))
