"""The SQLite writer's prepared statements (``data.prepared_writes``) store exactly what
``Connection.execute`` of the same Core statements stores, and what they cannot say as
plain text is left to it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, make_url, select

from business.errors import Conflict
from business.model import AgentId
from data.codecs import encode_event
from data.database import Database
from data.prepared_writes import PreparedWrites
from data.repositories.events import _INSERT_EVENT
from data.sqlite_writer import QueuedWrite, SqliteWriter
from tests.harness import make_world


def _copy(source: str, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        dump = {t: sorted(db.execute(f'SELECT * FROM "{t}"'), key=repr) for t in tables}
    db.close()
    return dump


async def _replay(
    snapshot: Path, target: Path, batches: Sequence[list[QueuedWrite]], *, prepared: bool
) -> int:
    """Writes ``batches`` into a copy of ``snapshot``; how many went the prepared way."""
    _copy(str(snapshot), target)
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{target}"))
    used = 0
    original = writer._prepared.get

    def get(stmt: Any, rows: list[dict[str, Any]]) -> Any:
        nonlocal used
        found = original(stmt, rows) if prepared else None
        used += found is not None
        return found

    writer._prepared.get = get  # type: ignore[method-assign]
    try:
        for batch in batches:
            await writer.write(batch)
    finally:
        await writer.close()
    return used


async def test_the_message_path_stores_the_same_rows_prepared_as_through_sqlalchemy(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    await world.agent(AgentId("alice@localhost"), name="Alice")
    visitor = await world.visitor()
    first = await world.start(visitor, "hello")
    # A first message warms the caches: from the next one on, the writer stores them.
    await world.say(first, "warming up", "m-0")
    snapshot = tmp_path / "snapshot.db"
    _copy(str(database.url.database), snapshot)

    # What the engine's writer stores from here on: the visitor's messages, alone and
    # three in a batch, with text that needs quoting and timestamps and JSON that
    # their column types convert.
    written: list[list[QueuedWrite]] = []
    real = SqliteWriter._write

    def recording(self: SqliteWriter, batches: Sequence[QueuedWrite]) -> None:
        written.append(list(batches))
        real(self, batches)

    monkeypatch.setattr(SqliteWriter, "_write", recording)
    await world.say(first, "Ünïcode, 'quotes' and \"more\"; -- not SQL", "m-1")
    await asyncio.gather(*(world.say(first, f"number {n}", f"m-{n}") for n in (2, 3, 4)))
    monkeypatch.undo()
    kinds = {type(write.stmt).__name__ for batch in written for write in batch}
    assert {"Insert", "Update"} <= kinds, written
    assert max(len(write.rows) for batch in written for write in batch) > 1, written

    through = tmp_path / "through.db"
    prepared = tmp_path / "prepared.db"
    assert await _replay(snapshot, through, written, prepared=False) == 0
    used = await _replay(snapshot, prepared, written, prepared=True)
    assert used == sum(len(batch) for batch in written), used  # every one of them
    assert _dump(prepared) == _dump(through)
    assert _dump(prepared) != _dump(snapshot)  # it did write

    # A compare-and-set that matches nothing now (the conversation moved on) is still a
    # conflict through the prepared path, and stores nothing.
    (save,) = [w for w in written[0] if w.check]
    writer = SqliteWriter(make_url(f"sqlite+aiosqlite:///{prepared}"))
    try:
        assert writer._prepared.get(save.stmt, save.rows) is not None
        with pytest.raises(Conflict):
            await writer.write([save])
    finally:
        await writer.close()
    assert _dump(prepared) == _dump(through)


_META = MetaData()
_T = Table(
    "t",
    _META,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("made_by", String, default=lambda: "python"),  # a Python-side default
)


@pytest.fixture
def prepared_writes(sqlite_database: Database) -> PreparedWrites:
    return PreparedWrites(sqlite_database.engine.sync_engine.dialect)


def test_what_needs_sqlalchemy_at_execution_is_left_to_it(prepared_writes: PreparedWrites) -> None:
    given = [{"id": 1, "name": "a", "made_by": "x"}]
    assert prepared_writes.get(insert(_T), given) is not None
    # A Python-side default to fill in, RETURNING, an expanding IN: not prepared.
    assert prepared_writes.get(insert(_T), [{"id": 1, "name": "a"}]) is None
    assert prepared_writes.get(insert(_T).returning(_T.c.id), given) is None
    expanding = _T.delete().where(_T.c.id.in_(bindparam("ids", expanding=True)))
    assert prepared_writes.get(expanding, [{"ids": [1, 2]}]) is None
    # Rows that do not all name the same parameters: not prepared either.
    assert prepared_writes.get(insert(_T), [*given, {"id": 2, "name": "b"}]) is None
    # A select is no write, but would compile: only the statement's own parameters count.
    assert prepared_writes.get(select(_T).where(_T.c.id == bindparam("x")), [{"y": 1}]) is None


async def test_a_taken_key_is_still_a_conflict(sqlite_database: Database, tmp_path: Path) -> None:
    database = sqlite_database
    world = await make_world(uow=database.unit_of_work)
    visitor = await world.visitor()
    conv = await world.start(visitor, "hello")
    async with database.unit_of_work() as uow:
        (event,) = [e for e in await uow.events.list_after(conv.id, 0, 10) if e.seq == 1]
    writer = SqliteWriter(database.url)
    try:
        with pytest.raises(Conflict):
            await writer.write([QueuedWrite(_INSERT_EVENT, [encode_event(event)], False, True)])
        assert writer._prepared.get(_INSERT_EVENT, [encode_event(event)]) is not None
    finally:
        await writer.close()
