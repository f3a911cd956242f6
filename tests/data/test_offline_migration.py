"""Migration 0018 (offline messages) on SQLite and PostgreSQL: conversations from before
it are ordinary chats, and it downgrades and upgrades cleanly."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from business.model import ConversationId
from data import Database
from data.database import alembic_config
from tests.data.test_bot_migration import _columns, _migrate, _seed
from tests.data.test_migrations import _diffs


def _before_offline() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0018")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


async def test_conversations_from_before_are_not_offline_and_it_round_trips(
    database: Database,
) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_offline()))
        assert "offline" not in await connection.run_sync(_columns("conversations"))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
    async with database.unit_of_work() as uow:
        conv = await uow.conversations.get(ConversationId("c-1"))
    assert conv is not None
    assert conv.offline is False
    assert conv.offline_message_id is None  # nothing to mail for it

    async with database.begin() as connection:
        await connection.execute(text("UPDATE conversations SET offline = true"))
        await connection.run_sync(_migrate(_before_offline()))
        columns = await connection.run_sync(_columns("conversations"))
        assert {"offline", "offline_message_id"}.isdisjoint(columns)
        await connection.run_sync(_migrate("head"))
        assert await connection.run_sync(_diffs) == []
        rows = (await connection.execute(text("SELECT offline FROM conversations"))).all()
        assert [bool(row[0]) for row in rows] == [False]
