"""Migration 0013 (bot-first queues) on SQLite and PostgreSQL: queues and conversations
from before it have no bot and no misses, and it downgrades and upgrades cleanly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, bindparam, inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from business.model import ConversationId, ConversationState, QueueName, TenantId
from data import Database
from data.database import alembic_config
from data.models import JSON_OR_NULL, UTCDateTime
from tests.data.test_migrations import _diffs

_T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _before_bots() -> str:
    """The revision 0013 follows (whatever the merges made it)."""
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0013")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


def _migrate(to: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        if to == "head":
            command.upgrade(alembic_config(connection), "head")
        else:
            command.downgrade(alembic_config(connection), to)

    return run


def _columns(table: str) -> Callable[[Connection], set[str]]:
    def read(connection: Connection) -> set[str]:
        return {c["name"] for c in inspect(connection).get_columns(table)}

    return read


async def _seed(connection: AsyncConnection) -> None:
    statements: list[str] = [
        "INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', :at)",
        "INSERT INTO queues (tenant_id, name, title, waiting) VALUES ('acme', 'support', 'S', 1)",
        "INSERT INTO visitors (id, tenant_id, token_hash, created_at) "
        "VALUES ('v-1', 'acme', 'h', :at)",
        "INSERT INTO conversations (id, tenant_id, visitor_id, visitor_name, queue, state, "
        "created_at, context, form, last_seq, last_pos, visitor_read_seq, "
        "agent_delivered_pos, queue_position) VALUES "
        "('c-1', 'acme', 'v-1', 'Vera', 'support', 'queued', :at, '{}', '{}', 2, 2, 0, 0, 1)",
    ]
    for statement in statements:
        if ":at" in statement:
            stmt = text(statement).bindparams(bindparam("at", type_=UTCDateTime()))
            await connection.execute(stmt, {"at": _T0})
        else:
            await connection.execute(text(statement))


async def test_what_was_there_before_has_no_bot_and_no_misses(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_bots()))
        assert "bot" not in await connection.run_sync(_columns("queues"))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
    async with database.unit_of_work() as uow:
        queue = await uow.queues.get(TenantId("acme"), QueueName("support"))
        assert queue is not None
        assert (queue.bot, queue.waiting) == (None, 1)
        conv = await uow.conversations.get(ConversationId("c-1"))
        assert conv is not None
        assert (conv.state, conv.bot_misses, conv.queue_position) == (
            ConversationState.QUEUED,
            0,
            1,
        )


async def test_it_downgrades_and_upgrades_again(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_bots()))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
        await connection.execute(
            text("UPDATE queues SET bot = :bot").bindparams(
                bindparam("bot", type_=JSON_OR_NULL, value={"name": "Ava"})
            )
        )
        await connection.run_sync(_migrate(_before_bots()))
        assert "bot" not in await connection.run_sync(_columns("queues"))
        assert "bot_misses" not in await connection.run_sync(_columns("conversations"))
        assert (await connection.execute(text("SELECT id FROM conversations"))).all() == [("c-1",)]
        await connection.run_sync(_migrate("head"))
        assert await connection.run_sync(_diffs) == []
