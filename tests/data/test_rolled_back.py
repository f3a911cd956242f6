"""A transaction PostgreSQL rolls back for a deadlock is a ``Conflict`` the caller may
run again (``data.uow``), not an internal error."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import text

from business.errors import Conflict
from business.model import AgentId
from business.transactions import retrying
from data import Database
from tests.data.test_cache import ALICE, ALICE_AGENT, seed

BOB = AgentId("a-bob")


@pytest.mark.postgres
async def test_a_deadlock_with_another_session_is_a_conflict_and_a_retry_succeeds(
    postgres_database: Database,
) -> None:
    database = postgres_database
    await seed(database)
    async with database.unit_of_work() as uow:
        await uow.agents.add(dataclasses.replace(ALICE_AGENT, id=BOB, address="bob@example.org"))
        await uow.commit()
    bob_locked = asyncio.Event()
    engine_waits = asyncio.Event()
    attempts = 0

    async def other_session() -> None:
        # An operator's session that locks Bob, then Alice: the other order. The engine
        # has waited half a second longer by then, so its deadlock check (after
        # deadlock_timeout, 1 s by default) finds the cycle first: its transaction is
        # the one PostgreSQL rolls back.
        async with database.begin() as connection:
            await connection.execute(
                text("SELECT 1 FROM agents WHERE id = :id FOR UPDATE"), {"id": BOB}
            )
            bob_locked.set()
            await engine_waits.wait()
            await asyncio.sleep(0.5)  # the engine is blocked on Bob by now
            await connection.execute(
                text("SELECT 1 FROM agents WHERE id = :id FOR UPDATE"), {"id": ALICE}
            )

    async def engine_transaction() -> str:
        nonlocal attempts
        attempts += 1
        async with database.unit_of_work() as uow:
            alice = await uow.agents.get(ALICE, for_update=True)
            if attempts == 1:
                engine_waits.set()
            bob = await uow.agents.get(BOB, for_update=True)
            await uow.commit()
        assert alice is not None
        assert bob is not None
        return bob.name

    other = asyncio.create_task(other_session())
    await bob_locked.wait()
    with pytest.raises(Conflict, match="rolled the transaction back"):
        await engine_transaction()
    await other  # it got both locks once the engine's transaction was rolled back
    # What a use case does with it: the same transaction again, which succeeds.
    assert await retrying(engine_transaction) == "Alice"
    assert attempts == 2
