"""Migration 0014 (transcripts by e-mail) on SQLite and PostgreSQL: tenants from before
it do not send transcripts automatically, and it downgrades and upgrades cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.script import ScriptDirectory
from sqlalchemy import bindparam, inspect, text
from sqlalchemy.engine import Connection

from business.model import TenantId
from data import Database
from data.database import alembic_config
from data.models import UTCDateTime
from tests.data.test_bot_migration import _columns, _migrate
from tests.data.test_migrations import _diffs

_T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _before_mail() -> str:
    """The revision 0014 follows (whatever the merges made it)."""
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0014")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_tenants_from_before_send_no_transcripts_by_themselves(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_mail()))
        assert "transcript_auto_send" not in await connection.run_sync(_columns("tenants"))
        await connection.execute(
            text(
                "INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', :at)"
            ).bindparams(bindparam("at", type_=UTCDateTime())),
            {"at": _T0},
        )
        await connection.run_sync(_migrate("head"))
    async with database.unit_of_work() as uow:
        tenant = await uow.tenants.get(TenantId("acme"))
    assert tenant is not None
    assert not tenant.transcript_auto_send


async def test_it_downgrades_and_upgrades_again(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate("head"))
        await connection.execute(
            text(
                "INSERT INTO tenants (id, name, created_at, transcript_auto_send) "
                "VALUES ('acme', 'Acme', :at, :on)"
            ).bindparams(bindparam("at", type_=UTCDateTime())),
            {"at": _T0, "on": True},
        )
        await connection.run_sync(_migrate(_before_mail()))
        assert "transcript_auto_send" not in await connection.run_sync(_columns("tenants"))
        assert "transcript_mails" not in await connection.run_sync(_tables)
        await connection.run_sync(_migrate("head"))
        assert "transcript_mails" in await connection.run_sync(_tables)
        assert await connection.run_sync(_diffs) == []
        flags = (await connection.execute(text("SELECT transcript_auto_send FROM tenants"))).all()
        assert [bool(flag) for (flag,) in flags] == [False]
