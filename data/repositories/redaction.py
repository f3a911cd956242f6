"""A tenant's PII redaction settings (``business.redaction_ports``), cached: every
message stored reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from business.model import TenantId
from business.redaction import CustomPattern, RedactionSettings
from data.models_redaction import RedactionSettingsRow
from data.repositories.base import SqlContext

_R: Table = RedactionSettingsRow.__table__  # type: ignore[assignment]
_CHANGED = ("cards", "ibans", "emails", "phones", "phone_region", "patterns", "updated_at")


def _settings(row: Any) -> RedactionSettings:
    return RedactionSettings(
        cards=row.cards,
        ibans=row.ibans,
        emails=row.emails,
        phones=row.phones,
        phone_region=row.phone_region,
        patterns=tuple(CustomPattern(p["name"], p["regex"]) for p in row.patterns),
    )


class SqlRedactionSettingsRepository:
    """``business.redaction_ports.RedactionSettingsRepository``. A tenant without a row
    is cached too (as ``(None,)``), so the defaults cost no query either; a write marks
    the tenant, whose entry is dropped when the unit of work commits."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> RedactionSettings | None:
        ctx = self._ctx
        cache = ctx.caches.redaction
        # A unit of work that changed them neither trusts nor fills the cache.
        own_write = tenant_id in ctx.written_redaction_tenants
        if not own_write and (hit := cache.get(tenant_id)) is not None:
            return hit[0]
        generation = cache.generation
        row = (await ctx.execute(select(_R).where(_R.c.tenant_id == tenant_id))).first()
        found = None if row is None else _settings(row)
        if not own_write:
            cache.fill(tenant_id, (found,), generation)
        return found

    async def put(self, tenant_id: TenantId, settings: RedactionSettings, at: datetime) -> None:
        self._ctx.written_redaction_tenants.add(tenant_id)
        values: dict[str, Any] = {
            "tenant_id": tenant_id,
            "cards": settings.cards,
            "ibans": settings.ibans,
            "emails": settings.emails,
            "phones": settings.phones,
            "phone_region": settings.phone_region,
            "patterns": [{"name": p.name, "regex": p.regex} for p in settings.patterns],
            "updated_at": at,
        }
        # One statement, so two first writes at once cannot both insert.
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(_R).values(values)
            await self._ctx.execute(
                pg.on_conflict_do_update(
                    index_elements=[_R.c.tenant_id],
                    set_={name: pg.excluded[name] for name in _CHANGED},
                )
            )
        else:
            lite = sqlite_insert(_R).values(values)
            await self._ctx.execute(
                lite.on_conflict_do_update(
                    index_elements=[_R.c.tenant_id],
                    set_={name: lite.excluded[name] for name in _CHANGED},
                )
            )
