"""SQLite: the connection set-up, and the writer that stores a batch in one step.

aiosqlite runs each DBAPI call on its own thread and comes back to the event loop
after each one: a statement costs three or four thread hand-offs (cursor, execute,
fetch, close), and a transaction of a few statements a dozen, each a wake-up of both
threads. For a unit of work whose reads the caches answered (the message path: the
conversation comes from the cache, the writes were queued), ``SqliteWriter`` stores
everything at once instead: its own connection runs BEGIN IMMEDIATE, each kind of
queued write in one ``executemany``, and COMMIT. The statements are the same
SQLAlchemy Core statements, compiled once for this engine and then run as their SQL
text (``data.prepared_writes``); when every write of a batch could be prepared (the
message path's always can), on sqlite3's connection itself (``_RawTransaction``).

Where: on the event loop's own thread, when it can. A batch is CPU work under the GIL
wherever it runs (binding the rows, SQLite's B-tree code, a WAL append without fsync
under ``synchronous=NORMAL``), and handing it to a thread made it wait twice for the
GIL the busy event loop holds, and once more for the loop to pick the result up: under
load (``bench.roundtrip`` at K = 100) a batch of about 30 messages spent 2.5 ms writing
and 12 ms in the hand-off. So the writer's connection never waits for SQLite's lock on
the loop (``busy_timeout`` 0): when another process holds it, BEGIN IMMEDIATE fails at
once, nothing was written, and the batch goes to the writer's thread, which waits as
every other connection does. Nor does it checkpoint on the loop (a checkpoint copies
the WAL into the database and syncs it): its automatic checkpoints are off, and after
about as much as SQLite's own default would have waited for (``CHECKPOINT_COMMITS``
commits or ``CHECKPOINT_ROWS`` rows, against its 1,000 pages) the write that got there
runs a PASSIVE checkpoint on the writer's thread before it returns, still inside the
caller's writer slot. That matters: a checkpoint running while this process goes on
writing never catches up with the end of the WAL, so the WAL would never start over
and would grow without bound (a test showed it).

The writer takes no lock of its own: the caller holds the database's writer gate
(``data.uow.WriterGate``) around ``write``, so its connection is never used by two
threads at once, and BEGIN IMMEDIATE keeps other processes out as it does for every
other connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import URL, Connection, Executable, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from business.errors import Conflict
from data.errors import is_key_taken
from data.prepared_writes import PreparedWrite, PreparedWrites

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
"""How long a connection waits for another's write lock (``PRAGMA busy_timeout``)."""

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
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


CHECKPOINT_COMMITS = 200
CHECKPOINT_ROWS = 2_000
"""The writer checkpoints after this many commits or rows written since its last."""

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
    """One connection that stores queued writes in one transaction, on the event loop
    (or, when another process holds SQLite's write lock, on its own thread).

    ``write`` raises ``Conflict`` when a compare-and-set matched fewer rows than it was
    given or a unique key was taken (nothing of the batch is then stored), and
    whatever else the database raised. The connection is opened on the first write and
    reopened after a failure that may have broken it.
    """

    def __init__(self, url: URL) -> None:
        sync_url = url.set(drivername="sqlite")
        # One connection, used by one thread at a time (the caller's writer gate).
        self._engine = create_engine(
            sync_url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        event.listen(self._engine, "connect", sqlite_on_connect)
        event.listen(self._engine, "connect", _never_wait_never_checkpoint)
        event.listen(self._engine, "begin", sqlite_on_begin)
        self._multi_rowcount = self._engine.dialect.supports_sane_multi_rowcount
        self._prepared = PreparedWrites(self._engine.dialect)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._connection: Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._commits = 0
        self._rows = 0
        self._path = sync_url.database or ""
        self._closed = False

    async def write(self, batches: Sequence[QueuedWrite]) -> None:
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        try:
            self._write(batches)
        except _LockedError:
            # Another process holds the write lock: wait for it off the loop.
            await self._in_thread(self._write, batches, BUSY_TIMEOUT_MS)
        self._commits += 1
        self._rows += sum(len(batch.rows) for batch in batches)
        if self._commits >= CHECKPOINT_COMMITS or self._rows >= CHECKPOINT_ROWS:
            self._commits = self._rows = 0
            try:
                await self._in_thread(self._checkpoint)
            except Exception:
                # The batch is stored; the next checkpoint will try again.
                logger.warning("a checkpoint of the SQLite database failed", exc_info=True)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)

    async def _in_thread(self, work: Callable[..., None], *args: Any) -> None:
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._executor, work, *args)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            # The thread cannot be stopped: the caller holds the writer slot until it
            # is done, so nothing else uses the connection meanwhile (its outcome stays
            # unknown to the caller, who drops what it cached). Cancelled again while
            # waiting: still wait (the next write would run on the loop, on the same
            # connection, while the thread still used it; found in review).
            while not done.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([done])
            raise

    def _write(self, batches: Sequence[QueuedWrite], busy_timeout: int = 0) -> None:
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        prepared = [self._prepared.get(batch.stmt, batch.rows) for batch in batches]
        try:
            if busy_timeout:
                _pragma(connection, f"busy_timeout={busy_timeout}")
            try:
                ready = [write for write in prepared if write is not None]
                if len(ready) == len(batches) and _RawTransaction.usable(connection):
                    _RawTransaction(connection).write(batches, ready, self._multi_rowcount)
                else:
                    with connection.begin():
                        for batch, prepared_write in zip(batches, prepared, strict=True):
                            self._execute(connection, batch, prepared_write)
            finally:
                if busy_timeout:
                    _pragma(connection, "busy_timeout=0")
        except (Conflict, IntegrityError):
            raise
        except OperationalError as error:
            # A BUSY raised by the ``begin`` listener leaves SQLAlchemy's Connection
            # half begun (found in review): a new one next, in either case.
            self._drop_connection()
            if not busy_timeout and _is_busy(error):
                raise _LockedError from error  # rolled back: nothing of it was stored
            raise
        except BaseException:
            # The connection may be broken (a full disk, a deleted file): a new one next.
            self._drop_connection()
            raise

    def _execute(
        self, connection: Connection, batch: QueuedWrite, prepared: PreparedWrite | None
    ) -> None:
        stmt = batch.stmt

        def run(some: list[dict[str, Any]]) -> Any:
            if prepared is not None:
                return prepared.execute(connection, some)
            return connection.execute(stmt, some if len(some) > 1 else some[0])

        _store(batch, run, self._multi_rowcount)

    # -- on the writer's thread ---------------------------------------------------------

    def _checkpoint(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False
            )
        try:
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except BaseException:
            checkpointer, self._checkpointer = self._checkpointer, None
            checkpointer.close()  # a new connection for the next one
            raise

    def _close(self) -> None:
        """On the writer's thread, once: both connections."""
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                logger.warning("closing the SQLite writer's connection failed", exc_info=True)
        self._engine.dispose()


class _RawTransaction:
    """A batch whose every statement is prepared, stored on the DBAPI connection itself.

    ``Connection.begin``, ``exec_driver_sql`` and the commit through SQLAlchemy cost about
    as much again as SQLite's own work for a lone message (``bench.roundtrip`` at K = 1:
    176 µs a message written, of which the sqlite3 calls took 83). Here BEGIN IMMEDIATE,
    each write's ``execute`` or ``executemany`` and COMMIT go straight to sqlite3's
    connection. Of what SQLAlchemy does around them, this keeps what the project relies
    on: each statement is announced to the ``before_cursor_execute`` listeners (with no
    execution context: ``context`` is None) and the commit to the ``commit`` listeners,
    so what counts statements, in the tests and the benchmarks, still sees them all; and
    a sqlite3 error is raised as the SQLAlchemy error it would have been
    (``IntegrityError``, ``OperationalError``), so that ``SqliteWriter`` and the unit of
    work tell them apart as before. It leaves out the ``begin``, ``rollback``,
    ``after_cursor_execute`` and ``handle_error`` events and SQLAlchemy's statement
    logging: while that logging is on for its connection the writer goes through
    SQLAlchemy instead (``usable``). SQLAlchemy's
    ``Connection`` never learns of the transaction: it begins and ends inside ``write``,
    rolled back there on any error.
    """

    __slots__ = ("_connection", "_cursor", "_driver")

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        self._driver = driver
        self._cursor = _wrapped("cursor", driver.cursor)

    @staticmethod
    def usable(connection: Connection) -> bool:
        """Whether nothing asks for what this leaves out: SQLAlchemy's statement log,
        which a connection decides on when it is opened (``echo``, or the
        ``sqlalchemy.engine.Engine`` logger at INFO then). Read from the connection as
        SQLAlchemy itself does (a private attribute: should a release rename it, the
        raw path is taken, and only the log of the writer's statements is missed)."""
        return not getattr(connection, "_echo", False)

    def write(
        self, batches: Sequence[QueuedWrite], prepared: Sequence[PreparedWrite], multi: bool
    ) -> None:
        driver = self._driver
        try:
            try:
                self._run("BEGIN IMMEDIATE", [()])
                for batch, prepared_write in zip(batches, prepared, strict=True):
                    self._execute(batch, prepared_write, multi)
                for listener in self._connection.dispatch.commit:
                    listener(self._connection)
                _wrapped("COMMIT", driver.commit)
            except BaseException:
                if driver.in_transaction:
                    # A failed rollback leaves the connection unusable: SqliteWriter
                    # drops it (an OperationalError, as SQLAlchemy would raise it).
                    _wrapped("ROLLBACK", driver.rollback)
                raise
        finally:
            self._cursor.close()

    def _execute(self, batch: QueuedWrite, prepared: PreparedWrite, multi: bool) -> None:
        _store(batch, lambda some: self._run(prepared.sql, prepared.bind(some)), multi)

    def _run(self, sql: str, params: list[tuple[Any, ...]]) -> sqlite3.Cursor:
        many = len(params) > 1
        parameters: Any = params if many else params[0]
        for listener in self._connection.dispatch.before_cursor_execute:
            # SQLAlchemy wraps a listener without ``retval`` to return what it was given.
            sql, parameters = listener(self._connection, self._cursor, sql, parameters, None, many)
        try:
            if many:
                return self._cursor.executemany(sql, parameters)
            return self._cursor.execute(sql, parameters)
        except sqlite3.Error as error:
            raise DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


_T = TypeVar("_T")


def _wrapped(what: str, call: Callable[[], _T]) -> _T:
    """``call()``, a sqlite3 error raised as the SQLAlchemy error it would have been."""
    try:
        return call()
    except sqlite3.Error as error:
        raise DBAPIError.instance(what, (), error, sqlite3.Error) from error


class _LockedError(Exception):
    """Another connection holds SQLite's write lock (and this one did not wait)."""


def _is_busy(error: OperationalError) -> bool:
    # The extended code: SQLITE_BUSY_RECOVERY, _SNAPSHOT and _TIMEOUT are BUSY too.
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def _pragma(connection: Connection, setting: str) -> None:
    """On the DBAPI connection itself: through SQLAlchemy a statement outside a
    transaction begins one (BEGIN IMMEDIATE here) and leaves it open (found in review)."""
    driver = connection.connection.driver_connection
    assert driver is not None  # an open connection
    driver.execute(f"PRAGMA {setting}")


def _never_wait_never_checkpoint(dbapi_connection: Any, _record: Any) -> None:
    """The writer's connection (after ``sqlite_on_connect``): no waiting for a lock on
    the event loop, and no automatic checkpoints there (see the module docstring)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    finally:
        cursor.close()


def _store(batch: QueuedWrite, run: Callable[[list[dict[str, Any]]], Any], multi: bool) -> None:
    """Write ``batch``'s rows with ``run`` (which returns what has a ``rowcount``): all at
    once, or, for a compare-and-set when the driver cannot count the rows of several,
    one by one. A taken unique key is ``Conflict`` when the batch says so."""
    rows = batch.rows
    try:
        if not batch.check:
            run(rows)
        elif multi or len(rows) == 1:
            _expect(run(rows), rows)
        else:
            for row in rows:
                _expect(run([row]), [row])
    except IntegrityError as error:
        if batch.taken_is_conflict and is_key_taken(error):
            raise Conflict("a unique key was taken meanwhile") from error
        raise


def _expect(result: Any, rows: list[dict[str, Any]]) -> None:
    if result.rowcount != len(rows):
        raise Conflict("a conversation changed meanwhile")
