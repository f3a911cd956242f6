"""PostgreSQL: a lone message's one statement, straight on asyncpg.

``data.repositories.one_statement`` makes a lone message one statement in one trip. Run
through SQLAlchemy, that trip still cost more of the engine's time than PostgreSQL's: a
checkout from the pool (and its return, with a reset), the AUTOCOMMIT option, the
greenlet bridge, an execution context, the asyncpg adapter's lock and statement cache
(``bench.roundtrip`` at K = 1: about 0.35 ms more per message than asyncpg alone, twice
per round trip). The lane keeps one pooled connection checked out in autocommit and runs
the statement, compiled once with its type conversions (``data.prepared_writes``), with
asyncpg's own ``execute``.

It is never the only way. One write uses the lane at a time; a write that finds it busy,
or statement logging on (``echo``: the lane bypasses SQLAlchemy's log), goes the usual
way. A statement that fails on the lane for any reason (a lost connection, a taken
unique key, a value its column refuses) is run again the usual way, which raises what it
always did: a failed statement wrote nothing, and one whose answer was lost after it
committed finds its compare-and-set taken and ends in ``Conflict``, as a lost answer
always has. A lane that sat idle for ``idle`` seconds is pinged before it is used, as the
pool pings what it lends (``data.database``), and replaced if it does not answer.

Kept from SQLAlchemy: each statement is announced to the ``before_cursor_execute``
listeners and each commit to the ``commit`` listeners (with no cursor and no execution
context), so what counts statements in the tests and the benchmarks still sees them (a
statement that failed on the lane is announced again by the usual way). Left out: the
``after_cursor_execute`` and ``handle_error`` events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from data.prepared_writes import PreparedWrites

logger = logging.getLogger(__name__)


class FastLane:
    """One autocommit connection for lone one-statement writes; see the module."""

    def __init__(self, engine: AsyncEngine, *, idle: float, ping_timeout: float) -> None:
        self._engine = engine
        self._idle = idle
        self._ping_timeout = ping_timeout
        self._prepared = PreparedWrites(engine.dialect)
        self._connection: AsyncConnection | None = None
        self._driver: Any = None  # asyncpg.Connection
        self._last_used = 0.0
        self._busy = False
        self._closed = False
        self.writes = 0
        """Statements the lane ran (for the tests: the lane is really taken)."""
        self.fallbacks = 0
        """Statements that failed on the lane and were left to the usual way."""

    async def write(self, stmt: Executable, params: dict[str, Any]) -> int | None:
        """The rows ``stmt`` changed, committed; or None when the lane did not run it
        (busy, shut, or the statement failed on it): run it the usual way then. A failure
        to connect is raised (the usual way would meet it too, and trying both would wait
        for it twice)."""
        if self._busy or self._closed:
            return None
        prepared = self._prepared.get(stmt, [params])
        if prepared is None:
            return None
        self._busy = True
        try:
            try:
                args = prepared.params(params)
            except Exception:
                return None  # a value its type refuses: the usual way says which
            held = await self._ready()
            if held is None:
                return None
            sync, driver = held
            sql: str = prepared.sql
            for listener in sync.dispatch.before_cursor_execute:
                sql, args = listener(sync, None, sql, args, None, False)
            try:
                status = await driver.execute(sql, *args)
            except Exception as error:
                self.fallbacks += 1
                await self._after_failure(driver, error)
                return None
            self._last_used = time.monotonic()
            self.writes += 1
            for listener in sync.dispatch.commit:
                listener(sync)
            return _rowcount(status)
        finally:
            self._busy = False

    async def close(self) -> None:
        """Give the connection back (before the engine is disposed); the lane stays shut."""
        self._closed = True
        await self._give_up(invalidate=False)

    async def _ready(self) -> tuple[Connection, Any] | None:
        """The connection to write on and its asyncpg connection; None if the lane shut."""
        if self._connection is not None and time.monotonic() - self._last_used >= self._idle:
            # Idle a while: a firewall may have dropped it without a word, and a write on
            # it would wait for TCP to notice. Pinged as the pool pings what it lends.
            try:
                await self._driver.fetchrow(";", timeout=self._ping_timeout)
                self._last_used = time.monotonic()
            except Exception as error:
                logger.info("the fast write lane's connection did not answer a ping: %s", error)
                await self._give_up(invalidate=True)
        if self._connection is None:
            connection = await self._engine.connect()
            try:
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                raw = await connection.get_raw_connection()
            except BaseException:
                await asyncio.shield(_discard(connection, invalidate=False))
                raise
            if getattr(connection.sync_connection, "_echo", False):
                # Statement logging is decided per connection when it is opened, and
                # the lane bypasses it: with the log on, every write goes the usual way.
                logger.info("SQLAlchemy logs statements: the fast write lane is off")
                self._closed = True
            if self._closed:
                await asyncio.shield(_discard(connection, invalidate=False))
                return None
            self._connection = connection
            self._driver = raw.driver_connection
            self._last_used = time.monotonic()
        sync = self._connection.sync_connection
        assert sync is not None
        return sync, self._driver

    async def _after_failure(self, driver: Any, error: Exception) -> None:
        # A statement the server refused leaves an autocommit connection as it was;
        # anything else (the connection lost, an operation cut short) may not have.
        # The server's errors are asyncpg's ``PostgresError``s, which carry a SQLSTATE.
        if getattr(error, "sqlstate", None) is not None and not driver.is_closed():
            return
        if driver is not self._driver:
            return  # closed or replaced meanwhile
        logger.info("the fast write lane's connection failed (%s): taking another", error)
        await self._give_up(invalidate=True)

    async def _give_up(self, *, invalidate: bool) -> None:
        connection, self._connection = self._connection, None
        self._driver = None
        if connection is not None:
            # Shielded: a caller cancelled meanwhile must not leave it checked out.
            await asyncio.shield(_discard(connection, invalidate=invalidate))


async def _discard(connection: AsyncConnection, *, invalidate: bool) -> None:
    """Give ``connection`` back to the pool; ``invalidate``: closed for good, not reused."""
    try:
        if invalidate:
            await connection.invalidate()
        await connection.close()
    except Exception as error:
        logger.info("closing the fast write lane's connection failed: %s", error)


def _rowcount(status: str) -> int:
    """The rows of asyncpg's status (``INSERT 0 1``, ``UPDATE 3``)."""
    count = status.rpartition(" ")[2]
    return int(count) if count.isdigit() else -1
