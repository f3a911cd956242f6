"""Migration 0026 (file retention) on SQLite and PostgreSQL: a tenant's upload limits
from before it keep their values and keep files for ever, and it downgrades and
upgrades cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from business.file_model import FileLimits
from business.model import TenantId
from data import Database
from data.database import alembic_config
from data.models import UTCDateTime
from tests.data.test_bot_migration import _columns, _migrate
from tests.data.test_migrations import _diffs


def _before_retention() -> str:
    """The revision 0026 follows (whatever the merges made it)."""
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0026")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


async def _tenant(connection: AsyncConnection) -> None:
    await connection.execute(
        text("INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', :at)").bindparams(
            bindparam("at", type_=UTCDateTime())
        ),
        {"at": datetime(2026, 11, 1, tzinfo=UTC)},
    )


async def _limits(database: Database) -> FileLimits | None:
    async with database.unit_of_work() as uow:
        return await uow.files.limits(TenantId("acme"))


async def test_limits_from_before_keep_their_values_and_files_for_ever(
    database: Database,
) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_retention()))
        assert "retention_days" not in await connection.run_sync(_columns("file_limits"))
        await _tenant(connection)
        await connection.execute(
            text(
                "INSERT INTO file_limits (tenant_id, max_bytes, allowed_types) "
                """VALUES ('acme', 1234, '["image/png"]')"""
            )
        )
        await connection.run_sync(_migrate("head"))
    assert await _limits(database) == FileLimits(
        max_bytes=1234, allowed_types=("image/png",), retention_days=None
    )


async def test_it_downgrades_and_upgrades_again(database: Database) -> None:
    async with database.begin() as connection:
        await _tenant(connection)
    async with database.unit_of_work() as uow:
        await uow.files.put_limits(TenantId("acme"), FileLimits(retention_days=30))
        await uow.commit()
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_retention()))
        assert "retention_days" not in await connection.run_sync(_columns("file_limits"))
        await connection.run_sync(_migrate("head"))
        assert await connection.run_sync(_diffs) == []
    limits = await _limits(database)
    assert limits is not None
    assert (limits.max_bytes, limits.retention_days) == (FileLimits().max_bytes, None)
