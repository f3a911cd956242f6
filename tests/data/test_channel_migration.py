"""Migration 0015 (channels) on SQLite and PostgreSQL: conversations and reports from
before it are the widget's (``web``, no provider, no address), and it downgrades and
upgrades cleanly."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import text

from business.model import Channel, ConversationId
from data import Database
from data.database import alembic_config
from tests.data.test_bot_migration import _columns, _migrate, _seed
from tests.data.test_migrations import _diffs


def _before_channels() -> str:
    """The revision 0015 follows (whatever the merges made it)."""
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0015")
    assert revision is not None
    assert isinstance(revision.down_revision, str)
    return revision.down_revision


async def test_conversations_from_before_are_the_widgets(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_channels()))
        assert "channel" not in await connection.run_sync(_columns("conversations"))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
    async with database.unit_of_work() as uow:
        conv = await uow.conversations.get(ConversationId("c-1"))
    assert conv is not None
    assert (conv.channel, conv.provider, conv.external_id) == (Channel.WEB, None, None)


async def test_it_downgrades_and_upgrades_again(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_channels()))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
        await connection.execute(
            text("UPDATE conversations SET channel = 'api', provider = 'sms', external_id = '+1'")
        )
        await connection.run_sync(_migrate(_before_channels()))
        assert "channel" not in await connection.run_sync(_columns("conversations"))
        assert "channel" not in await connection.run_sync(_columns("conversation_reports"))
        assert (await connection.execute(text("SELECT id FROM conversations"))).all() == [("c-1",)]
        await connection.run_sync(_migrate("head"))
        assert await connection.run_sync(_diffs) == []
        rows = (await connection.execute(text("SELECT channel, provider FROM conversations"))).all()
        assert [tuple(row) for row in rows] == [("web", None)]
