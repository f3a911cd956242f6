"""Alembic owns the schema: the migrated database must be exactly what the models say."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, inspect, text

from business.model import (
    AgentId,
    AgentRole,
    CannedResponse,
    Queue,
    QueueName,
    Tenant,
    TenantId,
)
from data import Database
from data.database import alembic_config
from data.models import Base, UTCDateTime


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(database: Database) -> None:
    async with database.begin() as connection:
        diffs = await connection.run_sync(_diffs)
    assert diffs == []


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def test_migrate_is_idempotent_and_reaches_head(database: Database) -> None:
    await database.migrate()
    async with database.begin() as connection:
        assert await connection.run_sync(_current) == _head()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


async def test_downgrade_removes_everything_and_upgrade_restores_it(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to_base)
        assert await connection.run_sync(_tables) == {"alembic_version"}
    await database.migrate()
    async with database.begin() as connection:
        assert await connection.run_sync(_tables) == set(Base.metadata.tables) | {"alembic_version"}
        assert await connection.run_sync(_diffs) == []


# -- 0003: the desk's configuration ----------------------------------------------------


def _downgrade_to(revision: str) -> Callable[[Connection], None]:
    def migrate(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    return migrate


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


_T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


async def test_0003_gives_existing_queues_and_agents_the_defaults(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to("0002"))
        assert "canned_responses" not in await connection.run_sync(_tables)
        # Rows as the engine of revision 0002 wrote them.
        for statement in [
            "INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', :at)",
            "INSERT INTO queues (tenant_id, name, title, waiting, max_waiting) "
            "VALUES ('acme', 'support', 'Support', 2, 40)",
            "INSERT INTO agents (id, tenant_id, address, name, max_chats, ready) "
            "VALUES ('a-1', 'acme', 'alice@example.org', 'Alice', 3, false)",
            "INSERT INTO agent_queues (agent_id, position, queue) VALUES ('a-1', 0, 'support')",
        ]:
            stmt = text(statement)
            if ":at" in statement:
                stmt = stmt.bindparams(bindparam("at", _T0, type_=UTCDateTime()))
            await connection.execute(stmt)
        await connection.run_sync(_upgrade_to_head)
    async with database.unit_of_work() as uow:
        queue = await uow.queues.get(TenantId("acme"), QueueName("support"))
        assert queue == Queue(
            tenant_id=TenantId("acme"),
            name=QueueName("support"),
            title="Support",
            waiting=2,
            max_waiting=40,
            offer_timeout=20,
            wrap_up_codes=(),
            require_wrap_up=False,
            skills={},
            last_agent_window=86400,
        )
        agent = await uow.agents.get(AgentId("a-1"))
        assert agent is not None
        assert (agent.role, agent.supervises, agent.skills) == (AgentRole.AGENT, (), {})
        assert agent.queues == (QueueName("support"),)
        assert list(await uow.canned.list(TenantId("acme"))) == []


async def test_0003_downgrades_to_0002_keeping_queues_and_agents(database: Database) -> None:
    async with database.unit_of_work() as uow:
        await uow.tenants.add(Tenant(id=TenantId("acme"), name="Acme", created_at=_T0))
        await uow.queues.add(
            Queue(
                tenant_id=TenantId("acme"),
                name=QueueName("support"),
                title="Support",
                skills={"billing": 2},
                last_agent_window=None,
            )
        )
        await uow.canned.put(
            CannedResponse(
                tenant_id=TenantId("acme"), queue=None, name="hi", text="Hi", created_at=_T0
            )
        )
        await uow.commit()
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to("0002"))
        assert "canned_responses" not in await connection.run_sync(_tables)
        columns = {c["name"] for c in await connection.run_sync(_columns("queues"))}
        assert "skills" not in columns
        assert "last_agent_window" not in columns
        assert (await connection.execute(text("SELECT name, title FROM queues"))).all() == [
            ("support", "Support")
        ]
        await connection.run_sync(_upgrade_to_head)
        assert await connection.run_sync(_diffs) == []


def _columns(table: str) -> Callable[[Connection], list[Any]]:
    def read(connection: Connection) -> list[Any]:
        return list(inspect(connection).get_columns(table))

    return read
