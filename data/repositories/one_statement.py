"""PostgreSQL: a lone message written in one statement, in one round trip.

Unloaded, a message is a unit of work that the caches answered: it writes one compare-and-
set UPDATE of its conversation and one INSERT of its event. Sent as they are, that is four
trips to the server (BEGIN, UPDATE, INSERT, COMMIT), each a hop through asyncpg and the
greenlet bridge. PostgreSQL runs one statement outside a transaction block as a
transaction of its own, and a data-modifying WITH is part of its statement, so

    WITH saved AS (UPDATE conversations ... WHERE <as read> RETURNING 1)
    INSERT INTO conversation_events (...) SELECT $1, ... FROM saved

on an autocommit connection is the same transaction in one trip: the event is inserted
exactly when the UPDATE matched (one row); when it did not, neither is written (a
``Conflict``, as before); when the INSERT breaks a unique key, the whole statement fails
and the UPDATE is undone with it. Only that exact shape is taken (one save of one row,
one event): anything else goes the usual way.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Executable, Insert, Table, Update, bindparam, insert, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from business.errors import Conflict
from data.errors import is_key_taken
from data.models import EventRow
from data.pg_lane import FastLane

_E: Table = EventRow.__table__  # type: ignore[assignment]
_PREFIX = "e_"
"""The event's parameters are renamed: both tables have a ``created_at``."""


def fusable(batches: Sequence[tuple[Executable, Any]], save_order: int, insert_order: int) -> bool:
    """Whether the queued writes are one checked save of one row and one event."""
    if len(batches) != 2:
        return False
    (save, saved), (_, inserted) = batches
    return (
        saved.order == save_order
        and saved.check
        and len(saved.rows) == 1
        and isinstance(save, Update)
        and inserted.order == insert_order
        and inserted.taken_is_conflict
        and len(inserted.rows) == 1
    )


async def write_in_one(
    connection: Callable[[], Awaitable[AsyncConnection]],
    save: Update,
    save_row: dict[str, Any],
    event_row: dict[str, Any],
    lane: FastLane | None = None,
) -> None:
    """Run the save and the insert as one statement: on ``lane`` if it takes it
    (``data.pg_lane``), else on an autocommit connection that ``connection`` opens."""
    stmt = _fused(save, tuple(event_row))
    params = dict(save_row)
    for name, value in event_row.items():
        params[_PREFIX + name] = value
    rowcount = None if lane is None else await lane.write(stmt, params)
    if rowcount is None:
        try:
            result = await (await connection()).execute(stmt, params)
        except IntegrityError as error:
            if is_key_taken(error):
                raise Conflict("a unique key was taken meanwhile") from error
            raise
        rowcount = result.rowcount
    if rowcount != 1:
        raise Conflict("a conversation changed meanwhile")


@functools.cache
def _fused(save: Update, columns: tuple[str, ...]) -> Insert:
    # Cached per statement object and column set, so the compiled cache sees the same
    # statement every time (the save statements are themselves cached per column set).
    saved = save.returning(literal_column("1")).cte("saved")
    values = select(*(bindparam(_PREFIX + name, type_=_E.c[name].type) for name in columns))
    return insert(_E).from_select(list(columns), values.select_from(saved))
