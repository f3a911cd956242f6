"""``business.lock_ports.TenantLocks`` on SQL: a PostgreSQL advisory lock per tenant."""

from __future__ import annotations

from sqlalchemy import text

from business.model import TenantId
from data.repositories.base import SqlContext

# Two keys: the schema (so that engines, or tests, sharing a PostgreSQL database but
# not a schema never wait for each other) and the tenant. hashtext() collisions only
# make two tenants wait for each other now and then, which is harmless.
_TENANT_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext(:tenant))")
# A job's key is its name after "job:" (a tenant of that id would only make a round skip).
_JOB_LOCK = text(
    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema()), hashtext('job:' || :job))"
)


class SqlTenantLocks:
    """On PostgreSQL ``pg_advisory_xact_lock``: held by the unit of work's transaction
    and released by its commit or rollback (or by the server when the connection
    dies), so a crashed engine never leaves a tenant locked. On SQLite nothing: every
    unit of work that writes already holds the one writer slot of the file."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def tenant(self, tenant_id: TenantId) -> None:
        ctx = self._ctx
        await ctx.hold_writer()
        if ctx.dialect == "postgresql":
            await ctx.execute(_TENANT_LOCK, {"tenant": tenant_id})

    async def job(self, name: str) -> bool:
        ctx = self._ctx
        if ctx.dialect != "postgresql":
            return True
        return bool((await ctx.execute(_JOB_LOCK, {"job": name})).scalar())
