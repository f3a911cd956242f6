"""Reads shared by the repositories that still use the ORM session: every row of a
statement, and a read through one of the database's caches (split from ``base``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar, cast

from sqlalchemy import Select

from data.cache import EntityCache
from data.repositories.base import SqlContext

_Row = TypeVar("_Row")
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_R = TypeVar("_R")


async def all_rows(ctx: SqlContext, stmt: Select[_Row]) -> Sequence[_Row]:
    session = await ctx.orm()
    result = await session.scalars(stmt.execution_options(populate_existing=True))
    return result.all()


async def read_through(
    ctx: SqlContext,
    cache: EntityCache[_K, _V],
    written: set[_K],
    row_type: type[_R],
    key: _K,
    convert: Callable[[_R], _V],
    *,
    fresh: bool = False,
) -> _V | None:
    """Read ``key`` through ``cache``; ``fresh`` asks the database whatever the cache says
    (a read that a write will follow must never start from a stale copy).

    A unit of work that wrote the key neither trusts nor fills the cache (it would see or
    publish its own uncommitted value); a fill is refused when an invalidation happened
    since the read began (the generation), so a stale row never lands in the cache.

    Misses of one key at once share one read (``EntityCache.reading``): under load every
    stanza of an agent looks the agent up, and when the entry had expired each of them
    read the row itself, hundreds of reads for a dozen agents. A reader joins a read
    only if nothing was invalidated since it began, so it gets what a read of its own
    would have; if that read fails, it reads for itself.
    """
    own_write = key in written
    shared = not fresh and not own_write
    if shared:
        if (hit := cache.get(key)) is not None:
            return hit
        joined = cache.reading(key)
        if joined is not None:
            try:
                return cast("_V | None", await asyncio.shield(joined))
            except _AbandonedReadError:
                pass  # its reader failed or was cancelled: read for ourselves
    generation = cache.generation
    lead = cache.start_reading(key) if shared else None
    try:
        session = await ctx.orm()
        row = await session.get(row_type, key, populate_existing=True, with_for_update=fresh)
        value: _V | None = None
        if row is not None:
            value = convert(row)
            if not own_write:
                cache.fill(key, value, generation)
    except BaseException:
        if lead is not None:
            cache.stop_reading(key, lead, _AbandonedReadError())
        raise
    if lead is not None:
        cache.stop_reading(key, lead, value)
    return value


class _AbandonedReadError(Exception):
    """The shared read failed or was cancelled; whoever waited on it reads alone."""
