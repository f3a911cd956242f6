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
    read the row itself, hundreds of reads for a dozen agents. Whoever holds a
    connection or the writer slot waits only on a read whose reader holds its
    connection (on SQLite the writer gate too), never on something the reader still
    needs; a reader that had to wait for its connection looks at the cache and the
    reads under way once more first. A reader that holds nothing, and needs nothing but
    a connection to read (not SQLite's writer slot), announces its read at once, for
    readers that hold nothing either: a thousand agent stanzas after an agent was
    written took a connection each before, ten seconds of BEGINs on SQLite. A reader
    joins a read only if nothing was invalidated since it began; if that read fails,
    it joins the next one begun, or reads for itself. A read-only unit of work on
    SQLite that has read already (``SqlContext.snapshot_taken``) may see a row older
    than the last invalidation: it neither fills the cache nor leads a shared read
    (found in review).
    """
    own_write = key in written
    shared = not fresh and not own_write
    # An older snapshot may see a row from before an invalidation: it reads for itself.
    behind = ctx.snapshot_taken
    # Holding neither a connection nor the writer slot, a reader can be waited on
    # before it has its connection by readers that hold nothing either: a thousand
    # agent stanzas missing a dozen agents at once took a pooled connection each (a
    # BEGIN through SQLite's thread) before finding the first read's result.
    if shared:
        found = await _cached_or_shared(cache, key, holding=not ctx.holds_nothing)
        if found is not _NOTHING:
            return cast("_V | None", found)
    generation = cache.generation
    # Not a unit of work that must take SQLite's writer slot to connect: a read-only one
    # joining it would wait for the slot it never needs.
    lead = cache.start_reading(key, held=False) if shared and ctx.connects_freely else None
    try:
        session = await ctx.orm()
        if lead is not None:
            cache.hold(key, lead)
            if (hit := cache.get(key)) is not None:  # filled while it connected
                cache.stop_reading(key, lead, hit)
                return hit
        elif shared:
            found = await _cached_or_shared(cache, key)  # filled or begun while we waited
            if found is not _NOTHING:
                return cast("_V | None", found)
            generation = cache.generation
            if not behind:
                lead = cache.start_reading(key)
        row = await session.get(row_type, key, populate_existing=True, with_for_update=fresh)
        value: _V | None = None
        if row is not None:
            value = convert(row)
            if not own_write and not behind:
                cache.fill(key, value, generation)
    except BaseException:
        if lead is not None:
            cache.stop_reading(key, lead, _AbandonedReadError())
        raise
    if lead is not None:
        cache.stop_reading(key, lead, value)
    return value


_NOTHING = object()


async def _cached_or_shared(cache: EntityCache[_K, _V], key: _K, *, holding: bool = True) -> object:
    """The cached value, or the outcome of a read of ``key`` under way that the caller
    may wait on (``EntityCache.reading``); ``_NOTHING``."""
    while True:
        if (hit := cache.get(key)) is not None:
            return hit
        joined = cache.reading(key, holding=holding)
        if joined is None:
            return _NOTHING
        try:
            return await asyncio.shield(joined)
        except _AbandonedReadError:
            # Its reader failed or was cancelled: another may have begun meanwhile (one
            # of those who waited with us), or we read for ourselves.
            continue


class _AbandonedReadError(Exception):
    """The shared read failed or was cancelled; whoever waited on it reads alone."""
