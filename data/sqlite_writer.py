"""SQLite: the connection set-up, and the writer thread that stores a batch in one hop.

aiosqlite runs each DBAPI call on its own thread and comes back to the event loop
after each one: a statement costs three or four thread hand-offs (cursor, execute,
fetch, close), and a transaction of a few statements a dozen, each a wake-up of both
threads. For a unit of work whose reads the caches answered (the message path: the
conversation comes from the cache, the writes were queued), ``SqliteWriter`` stores
everything in one hand-off instead: its own thread and connection run BEGIN IMMEDIATE,
each kind of queued write in one ``executemany``, and COMMIT, and return once the
commit is done. The statements are the same SQLAlchemy Core statements, compiled once
for this engine and then run as their SQL text (``data.prepared_writes``).

The writer takes no lock of its own: the caller holds the database's writer gate
(``data.uow.WriterGate``) around ``write``, and BEGIN IMMEDIATE keeps other processes
out as it does for every other connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

from sqlalchemy import URL, Connection, Executable, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from business.errors import Conflict
from data.errors import is_key_taken
from data.prepared_writes import PreparedWrites

logger = logging.getLogger(__name__)

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=5000",
    # With WAL, NORMAL loses at most the last commits on power loss, never integrity,
    # and saves an fsync per commit.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Engine ``connect`` listener: the pragmas, and transaction control taken from the
    sqlite3 module (it would BEGIN lazily and only before writes) so that
    ``sqlite_on_begin`` decides; this also lets the pragmas run outside any
    transaction, as journal_mode requires."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


READ_ONLY = "chat_engine_read_only"
"""Execution option of a connection that only reads: its transactions BEGIN deferred."""


def sqlite_on_begin(connection: Connection) -> None:
    """Engine ``begin`` listener. Why IMMEDIATE: see the module docstring of data.uow. A
    read-only unit of work (``READ_ONLY``) begins deferred: a snapshot that neither
    waits for the writer nor holds it up (WAL)."""
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class QueuedWrite(NamedTuple):
    stmt: Executable
    rows: list[dict[str, Any]]
    check: bool
    """Every row must match (a compare-and-set), or ``Conflict``."""
    taken_is_conflict: bool
    """A unique key violation is ``Conflict`` (otherwise the database's error)."""


class SqliteWriter:
    """One thread and one connection that store queued writes in one transaction.

    ``write`` raises ``Conflict`` when a compare-and-set matched fewer rows than it was
    given or a unique key was taken (nothing of the batch is then stored), and
    whatever else the database raised. The connection is opened on the first write in
    the thread and reopened after a failure that may have broken it.
    """

    def __init__(self, url: URL) -> None:
        sync_url = url.set(drivername="sqlite")
        # One connection, only ever used on the writer's one thread.
        self._engine = create_engine(sync_url, poolclass=StaticPool)
        event.listen(self._engine, "connect", sqlite_on_connect)
        event.listen(self._engine, "begin", sqlite_on_begin)
        self._multi_rowcount = self._engine.dialect.supports_sane_multi_rowcount
        self._prepared = PreparedWrites(self._engine.dialect)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._connection: Connection | None = None
        self._closed = False

    async def write(self, batches: Sequence[QueuedWrite]) -> None:
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._executor, self._write, batches)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # The thread cannot be stopped: the caller holds the writer slot until it
            # is done, so nothing else writes meanwhile (its outcome stays unknown to
            # the caller, who drops what it cached).
            await asyncio.wait([done])
            raise

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    # -- on the writer thread ---------------------------------------------------------

    def _write(self, batches: Sequence[QueuedWrite]) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        try:
            with connection.begin():
                for batch in batches:
                    self._execute(connection, batch)
        except (Conflict, IntegrityError):
            raise
        except BaseException:
            # The connection may be broken (a full disk, a deleted file): a new one next.
            self._close()
            raise

    def _execute(self, connection: Connection, batch: QueuedWrite) -> None:
        stmt, rows = batch.stmt, batch.rows
        prepared = self._prepared.get(stmt, rows)

        def run(some: list[dict[str, Any]]) -> Any:
            if prepared is not None:
                return prepared.execute(connection, some)
            return connection.execute(stmt, some if len(some) > 1 else some[0])

        try:
            if not batch.check:
                run(rows)
            elif self._multi_rowcount or len(rows) == 1:
                _expect(run(rows), rows)
            else:
                for row in rows:
                    _expect(run([row]), [row])
        except IntegrityError as error:
            if batch.taken_is_conflict and is_key_taken(error):
                raise Conflict("a unique key was taken meanwhile") from error
            raise

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.warning("closing the SQLite writer's connection failed", exc_info=True)
        self._engine.dispose()


def _expect(result: Any, rows: list[dict[str, Any]]) -> None:
    if result.rowcount != len(rows):
        raise Conflict("a conversation changed meanwhile")
