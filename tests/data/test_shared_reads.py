"""Misses of one cached key at once share one read (``data.repositories.reads``), on both
databases: a dozen agents' stanzas arriving together after their entries expired read
each agent once, not once per stanza."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.ext.asyncio import AsyncConnection

from business.model import Agent, AgentId
from data.database import Database
from data.models import AgentRow
from data.repositories.base import SqlContext
from data.repositories.reads import _AbandonedReadError
from tests.harness import make_world

ALICE = AgentId("alice@localhost")


@contextmanager
def agent_reads() -> Iterator[Counter[str]]:
    """SELECTs of the agents table by id, on every engine of the process."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def on_statement(*args: Any) -> None:
        sql = " ".join(args[2].split())
        if sql.startswith("SELECT") and "FROM agents WHERE agents.id" in sql:
            with lock:
                seen["agents"] += 1

    event.listen(Engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)


@contextmanager
def connection_checkouts(database: Database) -> Iterator[Counter[str]]:
    """Connections taken from the database's pool."""
    seen: Counter[str] = Counter()

    def on_checkout(*args: Any) -> None:
        seen["connections"] += 1

    pool = database.engine.sync_engine.pool
    event.listen(pool, "checkout", on_checkout)
    try:
        yield seen
    finally:
        event.remove(pool, "checkout", on_checkout)


async def _read(database: Database) -> Agent | None:
    async with database.unit_of_work() as uow:
        return await uow.agents.get(ALICE)


async def test_many_misses_of_one_agent_at_once_read_it_once(database: Database) -> None:
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    database.caches.agents.clear()
    with agent_reads() as reads:
        found = await asyncio.gather(*(_read(database) for _ in range(20)))
    assert {a.id if a else None for a in found} == {ALICE}
    assert reads["agents"] == 1
    # Then the cache answers.
    with agent_reads() as reads:
        assert await _read(database) == found[0]
    assert reads["agents"] == 0


async def _read_only(database: Database) -> Agent | None:
    async with database.unit_of_work() as uow:
        uow.read_only()
        return await uow.agents.get(ALICE)


async def test_misses_at_once_that_hold_nothing_take_one_connection_not_one_each(
    database: Database,
) -> None:
    """Readers that hold nothing yet (the agent lookups of a burst of stanzas) wait for
    the first one's read before it has its connection: one connection in all, not a
    connection (a BEGIN) each only to find the cache filled."""
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    database.caches.agents.clear()
    with agent_reads() as reads, connection_checkouts(database) as checkouts:
        found = await asyncio.gather(
            *(_read_only(database) for _ in range(10)), *(_read(database) for _ in range(10))
        )
    assert {a.id if a else None for a in found} == {ALICE}
    assert reads["agents"] == 1
    assert checkouts["connections"] == 1


async def test_a_read_only_reader_never_waits_behind_the_writer_slot_for_a_shared_read(
    sqlite_database: Database,
) -> None:
    """W holds SQLite's writer slot; L, a unit of work that will write, misses Alice and
    waits for the slot; R, read-only, misses her too. R needs no slot to read: had L
    announced its read before it connected, R would wait on it until W is done (found
    in review)."""
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    database.caches.agents.clear()
    release_w = asyncio.Event()
    w_holds = asyncio.Event()

    async def w() -> None:
        async with database.unit_of_work() as uow:
            await uow._ctx.connection()  # W now holds the writer slot
            w_holds.set()
            await release_w.wait()

    holder = asyncio.ensure_future(w())
    await w_holds.wait()
    waiting = asyncio.ensure_future(_read(database))  # L: waits for the slot
    await asyncio.sleep(0.05)
    try:
        found = await asyncio.wait_for(_read_only(database), timeout=5)
        assert found is not None
        assert found.id == ALICE
        assert not waiting.done()
    finally:
        release_w.set()
        await holder
    assert (await waiting) == found


async def test_when_a_shared_read_fails_its_waiters_share_the_next_one(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first reader gives up (cancelled while it waited for its connection): those
    who waited on it go on with one read among them, not one each (found in review)."""
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    database.caches.agents.clear()
    gate = asyncio.Event()
    connection = SqlContext.connection

    async def held_connection(ctx: SqlContext) -> AsyncConnection:
        # Connections wait until the first reader has been cancelled.
        await gate.wait()
        return await connection(ctx)

    monkeypatch.setattr(SqlContext, "connection", held_connection)
    with agent_reads() as reads, connection_checkouts(database) as checkouts:
        first = asyncio.ensure_future(_read_only(database))
        await asyncio.sleep(0.05)
        others = [asyncio.ensure_future(_read_only(database)) for _ in range(10)]
        await asyncio.sleep(0.05)
        first.cancel()
        await asyncio.sleep(0)
        gate.set()
        found = await asyncio.gather(*others)
    assert {a.id if a else None for a in found} == {ALICE}
    assert reads["agents"] == 1
    assert checkouts["connections"] == 1


async def test_a_read_begun_before_an_invalidation_is_not_joined(database: Database) -> None:
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    cache = database.caches.agents
    cache.clear()
    under_way = cache.start_reading(ALICE)  # somebody's read, begun now
    assert cache.reading(ALICE) is under_way
    cache.invalidate([ALICE])  # and then Alice changed: that read may be older
    assert cache.reading(ALICE) is None
    with agent_reads() as reads:
        found = await _read(database)
    assert found is not None
    assert reads["agents"] == 1
    cache.stop_reading(ALICE, under_way, None)


async def test_whoever_waited_on_a_read_that_failed_reads_alone(database: Database) -> None:
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    cache = database.caches.agents
    cache.clear()
    under_way = cache.start_reading(ALICE)
    with agent_reads() as reads:
        waiting = asyncio.create_task(_read(database))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # it joined the read under way
        cache.stop_reading(ALICE, under_way, _AbandonedReadError())
        found = await waiting
    assert found is not None
    assert found.id == ALICE
    assert reads["agents"] == 1
    assert cache.reading(ALICE) is None


async def test_a_reader_holding_the_writer_slot_never_waits_on_one_waiting_for_it(
    sqlite_database: Database,
) -> None:
    """B holds SQLite's writer slot (it has run a statement) when it misses Alice; A missed
    her first and waits for the slot. Had A announced its read before holding the slot,
    B would wait on A and A on B, and the engine would store nothing more (found in
    review)."""
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice")
    database.caches.agents.clear()
    b_holds = asyncio.Event()
    a_started = asyncio.Event()

    async def b() -> Agent | None:
        async with database.unit_of_work() as uow:
            await uow._ctx.connection()  # any statement: B now holds the writer slot
            b_holds.set()
            await a_started.wait()
            await asyncio.sleep(0.05)  # A misses Alice meanwhile and waits for the slot
            return await uow.agents.get(ALICE)

    async def a() -> Agent | None:
        await b_holds.wait()
        async with database.unit_of_work() as uow:
            a_started.set()
            return await uow.agents.get(ALICE)

    tasks = [asyncio.ensure_future(a()), asyncio.ensure_future(b())]
    _, pending = await asyncio.wait(tasks, timeout=10)
    for task in pending:
        task.cancel()
    assert not pending, "B waited on A's read, A on B's writer slot"
    assert [getattr(task.result(), "id", None) for task in tasks] == [ALICE, ALICE]


async def test_a_read_from_an_older_sqlite_snapshot_is_neither_cached_nor_shared(
    sqlite_database: Database,
) -> None:
    """R, a read-only unit of work, reads once (its snapshot begins), then Alice is set not
    ready and committed, then R reads Alice (slowly) while C, begun after that commit,
    reads her too. R sees its snapshot's Alice; C and the cache must not (found in
    review)."""
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    await world.agent(ALICE, name="Alice", ready=True)
    database.caches.agents.clear()
    slow_connections: set[int] = set()

    def slow_agent_reads(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        if id(conn.connection.dbapi_connection) in slow_connections and (
            "FROM agents WHERE agents.id" in " ".join(sql.split())
        ):
            time.sleep(0.3)  # on aiosqlite's thread: the event loop goes on

    committed = asyncio.Event()

    async def r() -> bool:
        async with database.unit_of_work() as uow:
            uow.read_only()
            session = await uow._ctx.orm()  # a first read of a table: the snapshot
            await session.scalar(select(AgentRow.id).where(AgentRow.address == ALICE))
            raw = await (await uow._ctx.connection()).get_raw_connection()
            slow_connections.add(id(raw.dbapi_connection))
            await committed.wait()
            found = await uow.agents.get(ALICE)
            assert found is not None
            return found.ready

    async def c() -> bool:
        await committed.wait()
        await asyncio.sleep(0.1)  # R's read is under way
        async with database.unit_of_work() as uow:
            uow.read_only()
            found = await uow.agents.get(ALICE)
            assert found is not None
            return found.ready

    event.listen(Engine, "before_cursor_execute", slow_agent_reads)
    try:
        reading = asyncio.ensure_future(r())
        await asyncio.sleep(0.05)
        async with database.unit_of_work() as uow:
            await uow.agents.set_ready(ALICE, False, None)
            await uow.commit()
        committed.set()
        seen_by_r, seen_by_c = await asyncio.gather(reading, c())
    finally:
        event.remove(Engine, "before_cursor_execute", slow_agent_reads)
    assert seen_by_r is True  # its snapshot
    assert seen_by_c is False
    cached = database.caches.agents.get(ALICE)
    assert cached is None or cached.ready is False
