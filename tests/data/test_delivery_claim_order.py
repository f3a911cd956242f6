"""Concurrent claims of overlapping conversations on PostgreSQL
(``data.repositories.delivery_owners``): whatever plan each statement gets, they take
their row locks in one order, so two claims never deadlock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business.model import ConversationId
from data import Database
from data.repositories.delivery_owners import _CLAIM
from tests.conftest import fresh_database_url
from tests.harness import World, make_world

pytestmark = pytest.mark.postgres


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Database, World]]:
    async with fresh_database_url("postgres", tmp_path) as url:
        database = Database.from_url(url)
        try:
            await database.migrate()
            yield database, await make_world(uow=database.unit_of_work)
        finally:
            await database.dispose()


async def test_claims_planned_differently_do_not_deadlock(store: tuple[Database, World]) -> None:
    database, world = store
    first = (await world.start(await world.visitor(), "Question")).id
    async with database.engine.begin() as connection:
        # Many copies of one conversation row, in an order unlike their keys'.
        await connection.exec_driver_sql(
            "CREATE TEMP TABLE copy AS SELECT c.* FROM conversations c, "
            f"generate_series(1, 3000) WHERE c.id = '{first}'"
        )
        await connection.exec_driver_sql("UPDATE copy SET id = md5(random()::text)")
        await connection.exec_driver_sql("INSERT INTO conversations SELECT * FROM copy")
        rows = await connection.exec_driver_sql("SELECT id FROM conversations")
        ids = [ConversationId(row[0]) for row in rows]
    # One statement reads the conversations in key order (an index), the other in
    # the table's order (a scan), as the planner may choose for lists of other sizes.
    plans = {
        "by-index": "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off",
        "by-scan": "SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off",
    }
    both = asyncio.Barrier(2)

    async def claim(node: str) -> None:
        async with database.engine.connect() as connection:
            for statement in plans[node].split("; "):
                await connection.exec_driver_sql(statement)
            await both.wait()
            await connection.execute(_CLAIM, {"ids": sorted(ids), "node": node})
            await connection.commit()

    for _ in range(5):
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql("DELETE FROM delivery_owners")
        both = asyncio.Barrier(2)
        await asyncio.gather(claim("by-index"), claim("by-scan"))
