"""What the SQL storage promises beyond the repository contract: connection settings,
timestamps, locking of writers, and the unit of work's guard rails."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, StatementError

from business.conversation import Conversation
from business.errors import Conflict, Unavailable
from business.model import (
    ConversationId,
    ConversationState,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
)
from data import Database
from data.settings import DatabaseSettings
from tests import conftest
from tests.conftest import postgres_url

T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TENANT = TenantId("acme")
OTHER_TENANT = TenantId("globex")
QUEUE = QueueName("support")
VISITOR = VisitorId("v-1")


async def seed(database: Database) -> None:
    async with database.unit_of_work() as uow:
        for tenant in (TENANT, OTHER_TENANT):
            await uow.tenants.add(Tenant(id=tenant, name=tenant, created_at=T0))
            await uow.queues.add(Queue(tenant_id=tenant, name=QUEUE, title="Support"))
        await uow.visitors.add(Visitor(id=VISITOR, tenant_id=TENANT, created_at=T0), "hash-1")
        await uow.commit()


def conversation(conversation_id: str, created_at: datetime = T0) -> Conversation:
    return Conversation(
        id=ConversationId(conversation_id),
        tenant_id=TENANT,
        visitor_id=VISITOR,
        visitor_name="Ann",
        queue=QUEUE,
        state=ConversationState.QUEUED,
        created_at=created_at,
    )


async def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'not' / 'yet' / 'there.db'}")
    try:
        assert database.dialect == "sqlite"
        assert database.url.drivername == "sqlite+aiosqlite"
        async with database.begin() as connection:
            settings = {
                pragma: (await connection.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                for pragma in ("journal_mode", "busy_timeout", "synchronous", "foreign_keys")
            }
        # synchronous: 1 is NORMAL.
        assert settings == {
            "journal_mode": "wal",
            "busy_timeout": 5000,
            "synchronous": 1,
            "foreign_keys": 1,
        }
        assert (tmp_path / "not" / "yet" / "there.db").exists()
    finally:
        await database.dispose()


def test_the_url_never_shows_the_password() -> None:
    database = Database.from_url("postgresql://chat:s3cret@db.example:5432/chat")
    assert database.dialect == "postgresql"
    assert "s3cret" not in str(database.url)
    assert "s3cret" not in repr(database)
    assert str(database.url) == "postgresql+asyncpg://chat:***@db.example:5432/chat"


def test_an_unsupported_url_fails_naming_what_is_supported() -> None:
    with pytest.raises(ValueError, match="sqlite\\+aiosqlite"):
        Database.from_url("mysql://chat@localhost/chat")


async def test_ping(database: Database) -> None:
    assert await database.ping()


async def test_ping_reports_an_unreachable_server() -> None:
    # Port 9 (discard) is closed on test machines: the connection is refused at once.
    database = Database.from_url("postgresql://nobody@127.0.0.1:9/nothing")
    try:
        assert not await database.ping()
    finally:
        await database.dispose()


async def test_timestamps_come_back_as_the_same_instant_in_utc(database: Database) -> None:
    await seed(database)
    plus_five = timezone(timedelta(hours=5))
    # 10:00+05:00 is 05:00 UTC: earlier than 06:00 UTC although "10" > "06" as text.
    early = datetime(2026, 3, 4, 10, 0, 0, 1, tzinfo=plus_five)
    late = datetime(2026, 3, 4, 6, 0, 0, 2, tzinfo=UTC)
    async with database.unit_of_work() as uow:
        await uow.conversations.add(conversation("c-late", late))
        await uow.conversations.add(conversation("c-early", early))
        await uow.commit()
    async with database.unit_of_work() as uow:
        found = await uow.conversations.list_queued(TENANT, QUEUE, limit=10)
    assert [c.id for c in found] == ["c-early", "c-late"]
    assert found[0].created_at == early
    assert found[0].created_at.tzinfo == UTC
    assert found[0].created_at.hour == 5
    assert found[0].created_at.microsecond == 1


async def test_naive_timestamps_are_refused(database: Database) -> None:
    await seed(database)
    async with database.unit_of_work() as uow:
        # Writes of conversations are queued: the error comes when they go out.
        await uow.conversations.add(conversation("c-naive", datetime(2026, 1, 1, 12, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.commit()
    async with database.unit_of_work() as uow:
        assert await uow.conversations.get(ConversationId("c-naive")) is None


async def test_a_token_hash_is_unique_within_a_tenant(database: Database) -> None:
    await seed(database)
    async with database.unit_of_work() as uow:
        other = Visitor(id=VisitorId("v-other"), tenant_id=OTHER_TENANT, created_at=T0)
        await uow.visitors.add(other, "hash-1")
        await uow.commit()
    async with database.unit_of_work() as uow:
        with pytest.raises(Conflict):
            await uow.visitors.add(
                Visitor(id=VisitorId("v-dup"), tenant_id=TENANT, created_at=T0), "hash-1"
            )
    async with database.unit_of_work() as uow:
        assert await uow.visitors.get(VisitorId("v-dup")) is None


async def test_a_second_for_update_reader_waits_for_the_first_to_commit(
    database: Database,
) -> None:
    """The seq allocation rule: whoever reads a conversation to change it goes after
    the writer before it and sees that writer's change (a row lock on PostgreSQL, the
    one-writer gate on SQLite)."""
    await seed(database)
    async with database.unit_of_work() as uow:
        await uow.conversations.add(conversation("c-1"))
        await uow.commit()
    cid = ConversationId("c-1")
    first_has_lock = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with database.unit_of_work() as uow:
            conv = await uow.conversations.get(cid, for_update=True)
            assert conv is not None
            first_has_lock.set()
            await release_first.wait()
            await uow.conversations.save(
                dataclasses.replace(conv, last_seq=conv.last_seq + 1, last_pos=conv.last_pos + 1),
                previous=conv,
            )
            await uow.commit()

    async def second() -> int:
        async with database.unit_of_work() as uow:
            conv = await uow.conversations.get(cid, for_update=True)
            assert conv is not None
            return conv.last_seq

    first_task = asyncio.create_task(first())
    await asyncio.wait_for(first_has_lock.wait(), 10)
    second_task = asyncio.create_task(second())
    done, _ = await asyncio.wait({second_task}, timeout=0.3)
    assert not done, "the second writer must wait while the first holds the conversation"
    release_first.set()
    await asyncio.wait_for(first_task, 10)
    assert await asyncio.wait_for(second_task, 10) == 1


@pytest.mark.postgres
async def test_a_plain_read_does_not_wait_for_a_writer_on_postgres(
    postgres_database: Database,
) -> None:
    """Sync and typing read without ``for_update``: they must not queue behind a writer."""
    database = postgres_database
    await seed(database)
    async with database.unit_of_work() as uow:
        await uow.conversations.add(conversation("c-1"))
        await uow.commit()
    cid = ConversationId("c-1")
    async with database.unit_of_work() as writer:
        assert await writer.conversations.get(cid, for_update=True) is not None
        async with asyncio.timeout(5), database.unit_of_work() as reader:
            assert await reader.conversations.get(cid) == conversation("c-1")


async def test_a_unit_of_work_is_unusable_outside_its_block(database: Database) -> None:
    uow = database.unit_of_work()
    with pytest.raises(RuntimeError, match="async with"):
        await uow.tenants.get(TENANT)
    async with uow:
        assert await uow.tenants.get(TENANT) is None
    with pytest.raises(RuntimeError, match="async with"):
        await uow.tenants.get(TENANT)


async def test_nesting_units_of_work_on_sqlite_fails_instead_of_hanging(
    sqlite_database: Database,
) -> None:
    # The writer slot is taken on the first statement: nesting fails when both do.
    async with sqlite_database.unit_of_work() as outer:
        assert await outer.tenants.get(TENANT) is None
        with pytest.raises(RuntimeError, match="nested"):
            async with sqlite_database.unit_of_work() as inner:
                await inner.tenants.get(TENANT)
    # The outer one released the gate normally.
    async with asyncio.timeout(5), sqlite_database.unit_of_work() as uow:
        assert await uow.tenants.get(TENANT) is None


async def test_a_cancelled_unit_of_work_rolls_back_and_lets_the_next_one_in(
    database: Database,
) -> None:
    await seed(database)
    inside = asyncio.Event()

    async def abandoned() -> None:
        async with database.unit_of_work() as uow:
            await uow.conversations.add(conversation("c-abandoned"))
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(abandoned())
    await asyncio.wait_for(inside.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(10), database.unit_of_work() as uow:
        assert await uow.conversations.get(ConversationId("c-abandoned")) is None


async def test_a_separate_database_object_on_the_same_file_waits_instead_of_failing(
    sqlite_database: Database, tmp_path: Path
) -> None:
    """Like a second process (an admin command) writing while the engine runs: BEGIN
    IMMEDIATE makes it wait for the write lock instead of failing with "database is
    locked" half-way through a transaction."""
    await seed(sqlite_database)
    other = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    try:

        async def write(database: Database, conversation_id: str) -> None:
            async with database.unit_of_work() as uow:
                # Read first, then write: the pattern a deferred transaction fails on.
                assert await uow.conversations.get(ConversationId(conversation_id)) is None
                await uow.conversations.add(conversation(conversation_id))
                await uow.commit()

        await asyncio.wait_for(
            asyncio.gather(
                *(write(sqlite_database, f"c-a{i}") for i in range(25)),
                *(write(other, f"c-b{i}") for i in range(25)),
            ),
            60,
        )
        async with sqlite_database.begin() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM conversations"))).scalar()
        assert count == 50
    finally:
        await other.dispose()


@pytest.mark.postgres
async def test_postgres_url_helper_returns_a_reachable_server() -> None:
    """Guards the conftest probe itself: under CI=true it must never skip silently."""
    url = await postgres_url()
    assert url.startswith("postgresql+asyncpg://")


@pytest.mark.parametrize("ci", ["", "true"])
async def test_an_unreachable_postgres_skips_except_under_ci(
    ci: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", ci)
    # Port 9 (discard) is closed: the probe fails at once.
    monkeypatch.setenv("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:9/test")
    monkeypatch.setattr(conftest, "_probe", conftest._Probe())
    if ci:
        with pytest.raises(pytest.fail.Exception, match="CI=true requires PostgreSQL"):
            await postgres_url()
    else:
        with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not reachable"):
            await postgres_url()


async def test_a_database_that_is_down_raises_unavailable_not_a_driver_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    database = Database.from_url(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/test")
    try:
        with pytest.raises(Unavailable, match="database is unavailable"):
            async with database.unit_of_work() as uow:
                await uow.tenants.get(TenantId("default"))
        # Errors of the caller's own making stay what they are.
        with pytest.raises(KeyError):
            async with database.unit_of_work():
                raise KeyError("not a database problem")
    finally:
        await database.dispose()


async def test_a_postgresql_server_that_never_answers_is_unavailable_not_a_hang() -> None:
    # Accepts connections and says nothing: what an unreachable or wedged server looks
    # like to the driver.
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    database = Database.from_url(
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/test", connect_timeout=0.5
    )
    try:
        async with asyncio.timeout(30):  # asyncpg alone would wait 60 s
            with pytest.raises(Unavailable):
                async with database.unit_of_work() as uow:
                    await uow.tenants.get(TenantId("default"))
    finally:
        await database.dispose()
        silent.close()
        await silent.wait_closed()


async def backend_pid(database: Database) -> int:
    async with database.begin() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(pid: int) -> None:
    admin = Database.from_url(await postgres_url())
    try:
        async with admin.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_an_idle_postgres_connection_the_server_dropped_is_replaced() -> None:
    url = await postgres_url()
    watched = Database.from_settings(DatabaseSettings(url=url, ping_after_idle=0.05))
    unwatched = Database.from_settings(DatabaseSettings(url=url, ping_after_idle=3600))
    try:
        for database in (watched, unwatched):
            await terminate(await backend_pid(database))  # as a restart would
        await asyncio.sleep(0.2)
        # Idle longer than ping_after_idle: pinged, found dead, replaced.
        assert await backend_pid(watched) > 0
        # Not idle long enough to be pinged: the dead connection is used, and fails.
        with pytest.raises(DBAPIError):
            await backend_pid(unwatched)
        assert await backend_pid(unwatched) > 0  # the pool threw it away
    finally:
        await watched.dispose()
        await unwatched.dispose()
