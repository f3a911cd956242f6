"""Signed identities: the tenants' settings, visitors' identities and device tokens
(``business.identity_ports``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from business.errors import Conflict
from business.identity_model import (
    DeviceToken,
    IdentityKey,
    IdentityMode,
    IdentitySettings,
    KeyAlgorithm,
    VisitorIdentity,
)
from business.model import TenantId, VisitorId
from data.errors import is_key_taken
from data.models import VisitorRow
from data.models_identity import IdentitySettingsRow, VisitorDeviceTokenRow, VisitorIdentityRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows


class SqlIdentitySettingsRepository:
    """Configuration, read once per connect that sends or needs an identity: nothing
    is cached here."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> IdentitySettings | None:
        row = await (await self._ctx.orm()).get(
            IdentitySettingsRow, tenant_id, populate_existing=True
        )
        if row is None:
            return None
        return IdentitySettings(
            tenant_id=TenantId(row.tenant_id),
            mode=IdentityMode(row.mode),
            audience=row.audience,
            keys=tuple(
                IdentityKey(
                    kid=key["kid"],
                    algorithm=KeyAlgorithm(key["algorithm"]),
                    material=key["material"],
                )
                for key in row.keys
            ),
            extra_fields=dict(row.extra_fields),
            updated_at=row.updated_at,
        )

    async def put(self, settings: IdentitySettings) -> None:
        values: dict[str, Any] = {
            "tenant_id": settings.tenant_id,
            "mode": settings.mode.value,
            "audience": settings.audience,
            "keys": [
                {"kid": key.kid, "algorithm": key.algorithm.value, "material": key.material}
                for key in settings.keys
            ],
            "extra_fields": dict(settings.extra_fields),
            "updated_at": settings.updated_at,
        }
        changed = ("mode", "audience", "keys", "extra_fields", "updated_at")
        session = await self._ctx.orm()
        # One statement, so two first writes at once cannot both insert.
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(IdentitySettingsRow).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[IdentitySettingsRow.tenant_id],
                    set_={name: pg.excluded[name] for name in changed},
                )
            )
        else:
            lite = sqlite_insert(IdentitySettingsRow).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[IdentitySettingsRow.tenant_id],
                    set_={name: lite.excluded[name] for name in changed},
                )
            )


def _identity(row: VisitorIdentityRow) -> VisitorIdentity:
    return VisitorIdentity(
        tenant_id=TenantId(row.tenant_id),
        sub=row.sub,
        visitor_id=VisitorId(row.visitor_id),
        name=row.name,
        email=row.email,
        extra=dict(row.extra),
        verified_at=row.verified_at,
    )


class SqlVisitorIdentityRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get_by_sub(self, tenant_id: TenantId, sub: str) -> VisitorIdentity | None:
        row = await (await self._ctx.orm()).get(
            VisitorIdentityRow, (tenant_id, sub), populate_existing=True
        )
        return None if row is None else _identity(row)

    async def get_for_visitor(self, visitor_id: VisitorId) -> VisitorIdentity | None:
        stmt = select(VisitorIdentityRow).where(VisitorIdentityRow.visitor_id == visitor_id)
        rows = await all_rows(self._ctx, stmt)
        return _identity(rows[0]) if rows else None

    async def put(self, identity: VisitorIdentity) -> None:
        session = await self._ctx.orm()
        # Every read before the row is added: a read's autoflush would raise a binding
        # another transaction made meanwhile as a bare IntegrityError, not Conflict.
        if identity.name is not None:
            visitor = await session.get(VisitorRow, identity.visitor_id, populate_existing=True)
            if visitor is not None:
                visitor.name = identity.name
        row = await session.get(
            VisitorIdentityRow, (identity.tenant_id, identity.sub), populate_existing=True
        )
        if row is None:
            row = VisitorIdentityRow(tenant_id=identity.tenant_id, sub=identity.sub)
            session.add(row)
        elif row.visitor_id != identity.visitor_id and (
            row.verified_at is not None or identity.verified_at is None
        ):
            # Bound by another transaction since the caller looked: never rebound. Only
            # a provisional binding is given up, to a visitor a token verifies.
            raise Conflict("this identity is bound to another visitor already")
        row.visitor_id = identity.visitor_id
        row.name = identity.name
        row.email = identity.email
        row.extra = dict(identity.extra)
        row.verified_at = identity.verified_at
        await self._flush("this identity or visitor is bound already")

    async def add_device_token(
        self, tenant_id: TenantId, token_hash: str, visitor_id: VisitorId, at: datetime
    ) -> None:
        (await self._ctx.orm()).add(
            VisitorDeviceTokenRow(
                tenant_id=tenant_id,
                token_hash=token_hash,
                visitor_id=visitor_id,
                created_at=at,
                last_used_at=at,
            )
        )
        await self._flush("this device token exists already")

    async def device_token(self, tenant_id: TenantId, token_hash: str) -> DeviceToken | None:
        row = await (await self._ctx.orm()).get(
            VisitorDeviceTokenRow, (tenant_id, token_hash), populate_existing=True
        )
        if row is None:
            return None
        return DeviceToken(visitor_id=VisitorId(row.visitor_id), last_used_at=row.last_used_at)

    async def touch_device_token(
        self, tenant_id: TenantId, token_hash: str, at: datetime, *, unless_after: datetime
    ) -> None:
        table = VisitorDeviceTokenRow
        await (await self._ctx.orm()).execute(
            update(table)
            .where(
                table.tenant_id == tenant_id,
                table.token_hash == token_hash,
                table.last_used_at <= unless_after,
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )

    async def prune_device_tokens(
        self,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        *,
        keep: int,
        unused_before: datetime,
        limit: int,
    ) -> int:
        table = VisitorDeviceTokenRow
        session = await self._ctx.orm()
        await session.flush()
        surplus = (
            select(table.token_hash)
            .where(table.tenant_id == tenant_id, table.visitor_id == visitor_id)
            .order_by(table.last_used_at.desc(), table.created_at.desc(), table.token_hash)
            .offset(keep)
        )
        idle = (
            select(table.token_hash)
            .where(table.tenant_id == tenant_id, table.last_used_at < unused_before)
            .limit(limit)
        )
        hashes = {*(await session.scalars(surplus)), *(await session.scalars(idle))}
        if not hashes:
            return 0
        await session.execute(
            delete(table)
            .where(table.tenant_id == tenant_id, table.token_hash.in_(hashes))
            .execution_options(synchronize_session=False)
        )
        return len(hashes)

    async def _flush(self, what: str) -> None:
        try:
            await (await self._ctx.orm()).flush()
        except IntegrityError as error:
            if is_key_taken(error):
                raise Conflict(what) from error
            raise
