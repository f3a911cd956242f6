"""Alembic owns the schema: the migrated database must be exactly what the models say."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from data import Database
from data.database import alembic_config
from data.models import Base


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.begin() as connection:
        diffs = await connection.run_sync(_diffs)
    assert diffs == []


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrate_is_idempotent_and_reaches_head(database: Database) -> None:
    await database.migrate()
    async with database.begin() as connection:
        assert await connection.run_sync(_current) == _head()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


async def test_downgrade_removes_everything_and_upgrade_restores_it(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to_base)
        assert await connection.run_sync(_tables) == {"alembic_version"}
    await database.migrate()
    async with database.begin() as connection:
        assert await connection.run_sync(_tables) == set(Base.metadata.tables) | {"alembic_version"}
        assert await connection.run_sync(_diffs) == []
