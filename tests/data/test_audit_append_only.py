"""The audit log is append-only in the database itself (migration 0032): whatever
connection issues it, an UPDATE or a DELETE of an entry is refused and the entry stays
as written, on SQLite and PostgreSQL; appending still works."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from data import Database
from data.models_governance import AuditLogRow

_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def _entries(database: Database) -> list[tuple[str, str, str | None]]:
    async with database.begin() as connection:
        rows = await connection.execute(
            select(AuditLogRow.actor, AuditLogRow.action, AuditLogRow.target).order_by(
                AuditLogRow.id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def _append(database: Database, action: str) -> None:
    async with database.begin() as connection:
        await connection.execute(
            insert(AuditLogRow).values(
                at=_AT, actor="cli:root", action=action, tenant_id="default", target="q", detail={}
            )
        )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(update(AuditLogRow).values(actor="cli:someone-else"), id="update"),
        pytest.param(update(AuditLogRow).values(detail={"forged": True}), id="update-detail"),
        pytest.param(delete(AuditLogRow), id="delete"),
        pytest.param(delete(AuditLogRow).where(AuditLogRow.action == "queue.create"), id="one"),
    ],
)
async def test_an_entry_cannot_be_changed_or_deleted(database: Database, change: object) -> None:
    await _append(database, "queue.create")
    await _append(database, "agent.add")
    before = await _entries(database)

    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        async with database.begin() as connection:
            await connection.execute(change)  # type: ignore[call-overload]

    assert await _entries(database) == before
    await _append(database, "agent.remove")
    assert await _entries(database) == [*before, ("cli:root", "agent.remove", "q")]


@pytest.mark.postgres
async def test_postgres_refuses_truncate(postgres_database: Database) -> None:
    await _append(postgres_database, "queue.create")
    with pytest.raises(DBAPIError, match="audit_log is append-only"):
        async with postgres_database.begin() as connection:
            await connection.execute(text("TRUNCATE audit_log"))
    assert len(await _entries(postgres_database)) == 1
