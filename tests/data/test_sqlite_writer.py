"""Where the SQLite writer works (``data.sqlite_writer``): on the event loop while nobody
else holds the write lock, on its thread (waiting, without blocking the loop) while
another process does; and its checkpoints, on its thread, keep the WAL bounded."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, event, insert, make_url
from sqlalchemy.exc import IntegrityError

from business.errors import Conflict
from data import sqlite_writer
from data.sqlite_writer import QueuedWrite, SqliteWriter

_META = MetaData()
_ROWS = Table(
    "rows", _META, Column("id", Integer, primary_key=True), Column("text", String, nullable=False)
)


def _count(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        (count,) = db.execute("SELECT count(*) FROM rows").fetchone()
    finally:
        db.close()
    return int(count)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writer.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    db.close()
    return path


def _batch(first: int, count: int = 1, text: str = "a row") -> list[QueuedWrite]:
    rows = [{"id": n, "text": text} for n in range(first, first + count)]
    return [QueuedWrite(insert(_ROWS), rows, False, True)]


def _threads_of_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that ran each ``_write``, recorded from now on."""
    seen: list[str] = []
    real = SqliteWriter._write

    def recording(self: SqliteWriter, batches: Sequence[QueuedWrite], busy: int = 0) -> None:
        seen.append(threading.current_thread().name)
        real(self, batches, busy)

    monkeypatch.setattr(SqliteWriter, "_write", recording)
    return seen


async def test_an_unlocked_database_is_written_on_the_event_loop(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _threads_of_writes(monkeypatch)
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    try:
        await writer.write(_batch(1, 3))
        await writer.write(_batch(4))
    finally:
        await writer.close()
    assert seen == [threading.current_thread().name] * 2
    assert _count(database) == 4


async def test_a_lock_held_by_another_process_is_waited_for_off_the_loop(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _threads_of_writes(monkeypatch)
    other = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # what another engine process's writer holds
    other.execute("INSERT INTO rows (id, text) VALUES (100, 'theirs')")
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    loop = asyncio.get_running_loop()
    loop.call_later(0.4, other.execute, "COMMIT")
    try:
        async with asyncio.timeout(10):
            await writer.write(_batch(1, 2))
        ticker.cancel()
        # The writer holds nothing afterwards (found in review: a pragma run through
        # SQLAlchemy left a transaction open, and with it SQLite's write lock).
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        await writer.write(_batch(3))  # and writes on the loop again
    finally:
        ticker.cancel()
        await writer.close()
        other.close()
    # Tried on the loop (refused at once), then stored by the thread once the lock
    # was free; the loop ran on meanwhile (a blocked loop would not have ticked).
    assert seen[0] == threading.current_thread().name
    assert seen[1].startswith("sqlite-writer"), seen
    assert seen[2] == threading.current_thread().name
    assert ticks >= 10, ticks
    assert _count(database) == 4  # theirs and all of ours, once each


async def test_a_lock_never_released_fails_the_write_and_stores_nothing(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_writer, "BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    try:
        with pytest.raises(Exception, match="locked"):
            await writer.write(_batch(1))
        other.execute("ROLLBACK")
        await writer.write(_batch(2))  # and the writer is usable after it
    finally:
        await writer.close()
        other.close()
    assert _count(database) == 1


@pytest.mark.parametrize("checkpoints", [True, False])
async def test_the_writers_checkpoints_keep_the_wal_bounded(
    database: Path, monkeypatch: pytest.MonkeyPatch, checkpoints: bool
) -> None:
    # The writer's connection never checkpoints by itself: without its own checkpoints
    # the WAL grows with every commit (the check that this test can fail).
    monkeypatch.setattr(sqlite_writer, "CHECKPOINT_COMMITS", 5 if checkpoints else 10**9)
    monkeypatch.setattr(sqlite_writer, "CHECKPOINT_ROWS", 10**9)
    seen = _threads_of_checkpoints(monkeypatch)
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    text = "x" * 20_000
    wal = Path(f"{database}-wal")
    try:
        for n in range(200):  # about 4 MB in all
            await writer.write(_batch(n * 10, 10 if n % 2 else 1, text))
        # Before closing (the last connection's close empties it); a stat, no waiting.
        size = os.path.getsize(wal)  # noqa: ASYNC240
    finally:
        await writer.close()
    assert _count(database) == 100 * 10 + 100
    if checkpoints:
        assert size < 1_000_000, size
        assert len(seen) == 40, seen
        assert all(name.startswith("sqlite-writer") for name in seen), seen
    else:
        assert size > 3_000_000, size
        assert seen == []


def _threads_of_checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = SqliteWriter._checkpoint

    def recording(self: SqliteWriter) -> None:
        seen.append(threading.current_thread().name)
        real(self)

    monkeypatch.setattr(SqliteWriter, "_checkpoint", recording)
    return seen


_DEFAULTED = Table(
    "rows",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("text", String, nullable=False, default=lambda: "filled in by Python"),
)


@contextmanager
def _observed() -> Iterator[list[str]]:
    """What SQLAlchemy's listeners hear meanwhile: statements, BEGINs (through
    ``Connection.begin``) and commits."""
    heard: list[str] = []

    def statement(*args: Any) -> None:
        heard.append(" ".join(str(args[2]).split()[:3]))

    def began(*_: Any) -> None:
        heard.append("(begin)")

    def committed(*_: Any) -> None:
        heard.append("(commit)")

    listeners = [("before_cursor_execute", statement), ("begin", began), ("commit", committed)]
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    try:
        yield heard
    finally:
        for name, listener in listeners:
            event.remove(Engine, name, listener)


async def test_a_prepared_batch_goes_straight_to_sqlite3_and_is_still_heard(
    database: Path,
) -> None:
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    try:
        await writer.write(_batch(1))  # opens the connection
        with _observed() as heard:
            await writer.write([*_batch(2, 2), *_batch(10)])
        assert heard == [
            "BEGIN IMMEDIATE",
            "INSERT INTO rows",
            "INSERT INTO rows",
            "(commit)",
        ]
        # A write that needs SQLAlchemy at execution (a Python-side default) takes the
        # whole batch through SQLAlchemy's own transaction.
        with _observed() as heard:
            await writer.write(
                [*_batch(20), QueuedWrite(insert(_DEFAULTED), [{"id": 21}], False, True)]
            )
        assert heard == [
            "(begin)",
            "BEGIN IMMEDIATE",
            "INSERT INTO rows",
            "INSERT INTO rows",
            "(commit)",
        ]
    finally:
        await writer.close()
    assert _count(database) == 6


async def test_a_batch_whose_last_write_fails_stores_nothing_and_the_writer_goes_on(
    database: Path,
) -> None:
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{database}"))
    try:
        refused = QueuedWrite(insert(_ROWS), [{"id": 3, "text": None}], False, True)
        # NOT NULL: the database's error, as SQLAlchemy raises it (not a conflict).
        with pytest.raises(IntegrityError, match="NOT NULL"):
            await writer.write([*_batch(1, 2), refused])
        assert _count(database) == 0
        # A taken key in the middle of a batch: a conflict, and nothing of it stored.
        await writer.write(_batch(1))
        with pytest.raises(Conflict):
            await writer.write([*_batch(5), *_batch(1), *_batch(6)])
        assert _count(database) == 1
        await writer.write(_batch(7, 2))
    finally:
        await writer.close()
    assert _count(database) == 3


async def test_while_sqlalchemy_logs_statements_the_writer_goes_through_it(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The raw path skips SQLAlchemy's statement log; a connection opened while it is on
    # logs every statement (SQLAlchemy decides when the connection is opened).
    url = make_url(f"sqlite+aiosqlite:///{database}")
    logging_writer = SqliteWriter(url)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine.Engine"), _observed() as heard:
            await logging_writer.write(_batch(1))
            await logging_writer.write(_batch(2))
        assert heard.count("(begin)") == 2
        logged = [record.getMessage() for record in caplog.records]
        assert sum("INSERT INTO rows" in line for line in logged) == 2, logged
    finally:
        await logging_writer.close()
    quiet_writer = SqliteWriter(url)
    try:
        caplog.clear()
        with _observed() as heard:
            await quiet_writer.write(_batch(3))
        assert heard == ["BEGIN IMMEDIATE", "INSERT INTO rows", "(commit)"]
        assert not caplog.records
    finally:
        await quiet_writer.close()
    assert _count(database) == 3
