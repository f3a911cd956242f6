"""Alembic owns the schema: the migrated database must be exactly what the models say."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from business.model import (
    AgentId,
    AgentRole,
    CannedResponse,
    ConversationId,
    OfferKind,
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


def test_each_migration_names_its_parent_in_its_docstring() -> None:
    """The header a reader sees (``Revises: …``) is the ``down_revision`` Alembic uses."""
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        said = re.search(r"^Revises: ?(\S*)", script.module.__doc__ or "", re.MULTILINE)
        assert said is not None, f"{script.revision}: no 'Revises:' line"
        assert (said.group(1) or None) == script.down_revision, script.revision


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


# -- 0007: members ---------------------------------------------------------------------


async def _seed_conversation_at_0006(connection: AsyncConnection) -> None:
    at = {"at": _T0}
    for statement in [
        "INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', :at)",
        "INSERT INTO queues (tenant_id, name, title, waiting) VALUES ('acme', 'support', 'S', 0)",
        "INSERT INTO visitors (id, tenant_id, token_hash, created_at) "
        "VALUES ('v-1', 'acme', 'h', :at)",
        # Offered to Alice by the router, as the engine of revision 0006 wrote it.
        "INSERT INTO conversations (id, tenant_id, visitor_id, visitor_name, queue, state, "
        "created_at, context, form, last_seq, last_pos, visitor_read_seq, "
        "agent_delivered_pos, offered_to, offered_name, offer_expires_at) VALUES "
        "('c-1', 'acme', 'v-1', 'Vera', 'support', 'queued', :at, '{}', '{}', 2, 3, 1, 0, "
        "'a-alice', 'Alice', :at)",
    ]:
        stmt = text(statement)
        if ":at" in statement:
            stmt = stmt.bindparams(bindparam("at", type_=UTCDateTime()))
        await connection.execute(stmt, at if ":at" in statement else {})


async def test_0007_gives_existing_conversations_a_routed_offer_and_no_members(
    database: Database,
) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to("0006"))
        assert "conversation_members" not in await connection.run_sync(_tables)
        await _seed_conversation_at_0006(connection)
        await connection.run_sync(_upgrade_to_head)
    async with database.unit_of_work() as uow:
        conv = await uow.conversations.get(ConversationId("c-1"))
        assert conv is not None
        assert (conv.offered_to, conv.offer_kind, conv.offer_by, conv.offer_note) == (
            AgentId("a-alice"),
            OfferKind.ROUTE,
            None,
            None,
        )
        assert conv.members == ()
        assert (conv.last_pos, conv.agent_delivered_pos) == (3, 0)
        assert list(await uow.members.list_for_agent(AgentId("a-alice"))) == []
        assert list(await uow.members.list_undelivered()) == []


async def test_0007_downgrades_to_0006_keeping_conversations(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_downgrade_to("0006"))
        await _seed_conversation_at_0006(connection)
        await connection.run_sync(_upgrade_to_head)
        await connection.execute(
            text(
                "INSERT INTO conversation_members (conversation_id, agent_id, name, role, "
                "joined_pos, delivered_pos) VALUES ('c-1', 'a-bob', 'Bob', 'consultant', 3, 3)"
            )
        )
        await connection.run_sync(_downgrade_to("0006"))
        assert "conversation_members" not in await connection.run_sync(_tables)
        columns = {c["name"] for c in await connection.run_sync(_columns("conversations"))}
        assert not columns & {"offer_kind", "offer_by", "offer_note", "members"}
        assert (
            await connection.execute(text("SELECT id, offered_to FROM conversations"))
        ).all() == [("c-1", "a-alice")]
        await connection.run_sync(_upgrade_to_head)
        assert await connection.run_sync(_diffs) == []
