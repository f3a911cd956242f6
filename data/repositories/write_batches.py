"""Queued writes of one statement, flushed together (``SqlContext.queue``), and the
checked executions that turn a row another writer changed meanwhile into ``Conflict``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection

from business.errors import Conflict


class Batch:
    """The rows queued for one statement (``SqlContext.queue``), flushed together."""

    __slots__ = ("bulk", "check", "order", "rows", "taken_is_conflict")

    def __init__(
        self, *, order: int, check: bool, taken_is_conflict: bool, bulk: Executable | None
    ) -> None:
        self.order = order
        self.check = check
        self.taken_is_conflict = taken_is_conflict
        self.bulk = bulk
        self.rows: list[dict[str, Any]] = []


async def checked(
    connection: AsyncConnection, stmt: Executable, rows: list[dict[str, Any]]
) -> None:
    result = await connection.execute(stmt, rows if len(rows) > 1 else rows[0])
    if result.rowcount != len(rows):
        raise Conflict("a conversation changed meanwhile")


async def checked_in_bulk(
    connection: AsyncConnection, stmt: Executable, rows: list[dict[str, Any]]
) -> None:
    # In id order, as every other writer locks rows: two statements locking the same
    # rows in different orders could deadlock.
    rows = sorted(rows, key=lambda row: str(row.get("b_id", "")))
    arrays = {name: [row[name] for row in rows] for name in rows[0]}
    changed = (await connection.execute(stmt, arrays)).all()
    if len(changed) != len(rows):
        raise Conflict("a conversation changed meanwhile")
