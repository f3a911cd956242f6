"""The tenant and agent caches: hits are served without the database, and every
committed write is visible to the next unit of work."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from business.model import Agent, AgentId, QueueName, Tenant, TenantId
from data import Database
from data.cache import EntityCache
from tests.conftest import postgres_url

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TENANT = TenantId("acme")
ALICE = AgentId("a-alice")
ALICE_AGENT = Agent(
    id=ALICE,
    tenant_id=TENANT,
    address="alice@example.org",
    name="Alice",
    max_chats=2,
    queues=(QueueName("support"),),
)


async def seed(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.tenants.add(Tenant(id=TENANT, name="Acme", created_at=T0))
        await uow.agents.add(ALICE_AGENT)
        await uow.commit()


async def get_agent(database: Database) -> Agent | None:
    async with database.unit_of_work() as uow:
        return await uow.agents.get(ALICE)


async def rename_behind_the_cache(database: Database, name: str) -> None:
    async with database.begin() as connection:
        await connection.execute(
            text("UPDATE agents SET name = :name WHERE id = :id"), {"name": name, "id": ALICE}
        )


async def test_hits_are_served_from_the_cache(database: Database) -> None:
    await seed(database)
    assert await get_agent(database) == ALICE_AGENT
    assert ALICE in database.caches.agents
    # Only a write through a unit of work invalidates; this one bypasses them.
    await rename_behind_the_cache(database, "Changed in SQL")
    assert await get_agent(database) == ALICE_AGENT
    database.caches.clear()
    found = await get_agent(database)
    assert found is not None
    assert found.name == "Changed in SQL"


async def test_a_read_for_update_asks_the_database_whatever_the_cache_holds(
    database: Database,
) -> None:
    """What a write will follow must never start from a stale copy (another process may
    have changed the agent since it was cached)."""
    await seed(database)
    assert await get_agent(database) == ALICE_AGENT
    await rename_behind_the_cache(database, "Changed by another process")
    async with database.unit_of_work() as uow:
        fresh = await uow.agents.get(ALICE, for_update=True)
        by_address = await uow.agents.get_by_address("alice@example.org", for_update=True)
    assert fresh is not None
    assert fresh.name == "Changed by another process"
    assert by_address == fresh


async def test_a_committed_save_is_seen_by_the_next_unit_of_work(database: Database) -> None:
    await seed(database)
    assert await get_agent(database) == ALICE_AGENT
    ready = dataclasses.replace(ALICE_AGENT, ready=True, ready_since=T0)
    async with database.unit_of_work() as uow:
        await uow.agents.set_ready(ALICE, True, T0)
        await uow.commit()
    assert ALICE not in database.caches.agents
    assert await get_agent(database) == ready


async def test_an_uncommitted_save_is_neither_served_nor_cached(database: Database) -> None:
    await seed(database)
    assert await get_agent(database) == ALICE_AGENT
    renamed = dataclasses.replace(ALICE_AGENT, name="Not committed")
    async with database.unit_of_work() as uow:
        await uow.agents.update_profile(
            ALICE, name=renamed.name, max_chats=renamed.max_chats, queues=renamed.queues
        )
        # The writer reads its own write, not the cached row...
        assert await uow.agents.get(ALICE) == renamed
    # ...and nothing of it outlives the rollback.
    assert await get_agent(database) == ALICE_AGENT
    database.caches.clear()
    assert await get_agent(database) == ALICE_AGENT


async def test_a_value_read_after_commit_in_the_same_block_is_cached(database: Database) -> None:
    await seed(database)
    renamed = dataclasses.replace(ALICE_AGENT, name="Renamed")
    async with database.unit_of_work() as uow:
        await uow.agents.update_profile(
            ALICE, name=renamed.name, max_chats=renamed.max_chats, queues=renamed.queues
        )
        await uow.commit()
        assert await uow.agents.get(ALICE) == renamed
    assert ALICE in database.caches.agents
    assert await get_agent(database) == renamed


async def test_a_missing_tenant_is_not_remembered_as_missing(database: Database) -> None:
    async with database.unit_of_work() as uow:
        assert await uow.tenants.get(TENANT) is None
    async with database.unit_of_work() as uow:
        await uow.tenants.add(Tenant(id=TENANT, name="Acme", created_at=T0))
        await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.tenants.get(TENANT) == Tenant(id=TENANT, name="Acme", created_at=T0)
    assert TENANT in database.caches.tenants


@pytest.mark.postgres
async def test_a_concurrent_reader_never_keeps_the_old_value_after_the_commit(
    postgres_database: Database,
) -> None:
    """PostgreSQL lets a reader run while a writer holds uncommitted changes (on SQLite
    units of work never overlap)."""
    database = postgres_database
    await seed(database)
    renamed = dataclasses.replace(ALICE_AGENT, name="Renamed")
    async with database.unit_of_work() as writer:
        await writer.agents.update_profile(
            ALICE, name=renamed.name, max_chats=renamed.max_chats, queues=renamed.queues
        )
        # A reader in the middle sees (and may cache) the committed value.
        assert await get_agent(database) == ALICE_AGENT
        await writer.commit()
    assert await get_agent(database) == renamed


@pytest.mark.postgres
async def test_an_address_read_before_its_invalidation_is_not_cached_after_it(
    postgres_database: Database,
) -> None:
    """The address -> id lookup keeps ``EntityCache``'s rule: an invalidation (another
    process removed the agent, announced through NOTIFY) that lands while the SELECT is
    on its way leaves the id it read out of the cache."""
    database = postgres_database
    await seed(database)
    database.caches.clear()
    locker = Database.from_url(
        await postgres_url(),
        connect_args={"server_settings": {"search_path": await _schema(database)}},
    )
    try:
        async with locker.begin() as connection:
            # The lookup's SELECT waits behind this lock, in flight.
            await connection.execute(text("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE"))
            lookup = asyncio.create_task(_agent_by_address(database))
            for _ in range(200):
                waiting = await connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted "
                        "AND relation = 'agents'::regclass"
                    )
                )
                if waiting.scalar_one():
                    break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("the lookup never reached the database")
            database.caches.agent_ids.invalidate([ALICE_AGENT.address])
        assert await asyncio.wait_for(lookup, 10) == ALICE_AGENT
    finally:
        await locker.dispose()
    assert ALICE_AGENT.address not in database.caches.agent_ids


async def _schema(database: Database) -> str:
    async with database.begin() as connection:
        return str((await connection.execute(text("SELECT current_schema()"))).scalar_one())


async def _agent_by_address(database: Database) -> Agent | None:
    async with database.unit_of_work() as uow:
        return await uow.agents.get_by_address(ALICE_AGENT.address)


async def test_a_disabled_cache_reads_through(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/chat.db", cache_ttl=0)
    try:
        await database.migrate()
        await seed(database)
        assert await get_agent(database) == ALICE_AGENT
        assert len(database.caches.agents) == 0
        await rename_behind_the_cache(database, "Changed in SQL")
        found = await get_agent(database)
        assert found is not None
        assert found.name == "Changed in SQL"
    finally:
        await database.dispose()


def test_a_fill_that_started_before_an_invalidation_is_dropped() -> None:
    cache: EntityCache[str, str] = EntityCache(maxsize=10, ttl=60)
    before = cache.generation
    # A writer commits and invalidates while the reader's SELECT is in flight...
    cache.invalidate(["k"])
    # ...so the reader's (possibly old) value must not be stored.
    cache.fill("k", "old", before)
    assert cache.get("k") is None
    cache.fill("k", "new", cache.generation)
    assert cache.get("k") == "new"


def test_entries_expire_after_the_ttl() -> None:
    now = [0.0]
    cache: EntityCache[str, str] = EntityCache(maxsize=10, ttl=30, timer=lambda: now[0])
    cache.fill("k", "v", cache.generation)
    now[0] = 29.0
    assert cache.get("k") == "v"
    now[0] = 31.0
    assert cache.get("k") is None


async def test_cached_reads_stay_correct_under_concurrent_writes(database: Database) -> None:
    """Readers and writers interleaved: after all writes commit, every reader sees the last."""
    await seed(database)

    async def write(i: int) -> None:
        async with database.unit_of_work() as uow:
            current = await uow.agents.get(ALICE, for_update=True)
            assert current is not None
            await uow.agents.update_profile(
                ALICE, name=current.name, max_chats=i, queues=current.queues
            )
            await uow.commit()

    async def read() -> None:
        assert await get_agent(database) is not None

    await asyncio.wait_for(
        asyncio.gather(*(task for i in range(1, 21) for task in (write(i), read(), read()))), 60
    )
    final = await get_agent(database)
    database.caches.clear()
    assert final == await get_agent(database)
