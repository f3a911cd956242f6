"""The databases the tests get (``tests.conftest.open_database``) are copies of one
migrated template per test process; a copy must be exactly what migrating gives: the
same tables, columns, indexes, constraints and seed rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from data import Database
from tests.conftest import BACKENDS, open_database, postgres_url


@asynccontextmanager
async def migrated(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A database migrated the way the engine does it, step by step."""
    if backend == "sqlite":
        database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
        try:
            await database.migrate()
            yield database
        finally:
            await database.dispose()
        return
    url = await postgres_url()
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        database = Database.from_url(url, connect_args={"server_settings": {"search_path": schema}})
        try:
            await database.migrate()
            yield database
        finally:
            await database.dispose()
            async with admin.connect() as connection:
                await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.dispose()


def _shape(connection: Connection) -> dict[str, Any]:
    """Every table's columns, keys, indexes, constraints and rows, schema names left out."""
    inspector = inspect(connection)
    shape: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = [
            (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
            for c in inspector.get_columns(table)
        ]
        foreign = sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
            for f in inspector.get_foreign_keys(table)
        )
        indexes = sorted(
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
        )
        uniques = sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table))
        checks = sorted(str(c["sqltext"]) for c in inspector.get_check_constraints(table))
        primary = inspector.get_pk_constraint(table)["constrained_columns"]
        rows = sorted(map(repr, connection.execute(text(f'SELECT * FROM "{table}"')).all()))
        shape[table] = (columns, primary, foreign, indexes, uniques, checks, rows)
    return shape


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_test_database_is_what_migrating_gives(backend: str, tmp_path: Path) -> None:
    async with migrated(backend, tmp_path) as database, database.begin() as connection:
        expected = await connection.run_sync(_shape)
    async with open_database(backend, tmp_path) as database, database.begin() as connection:
        copied = await connection.run_sync(_shape)
    assert "alembic_version" in expected
    assert len(expected) > 10
    assert copied == expected
    # A copy is its own: what one test writes, the next copy does not hold.
    (tmp_path / "again").mkdir()
    (tmp_path / "third").mkdir()
    async with open_database(backend, tmp_path / "again") as first, first.begin() as connection:
        await connection.execute(text("DELETE FROM alembic_version"))
    async with open_database(backend, tmp_path / "third") as second, second.begin() as connection:
        assert (
            await connection.execute(text("SELECT count(*) FROM alembic_version"))
        ).scalar() == 1
