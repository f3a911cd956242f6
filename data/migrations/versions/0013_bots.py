"""Bot-first queues: ``queues.bot``, the queue's bot configuration (the JSON document of
``business.bot_config``; NULL: no bot), and ``conversations.bot_misses``, the messages in
a row the bot of a chat in state ``bot`` could not answer.

Both columns are nullable or have a server default, so existing rows need nothing and
SQLite adds them without copying the tables. State ``bot`` is a new value of
``conversations.state`` (a string): no change there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.add_column("queues", sa.Column("bot", JSON, nullable=True))
    op.add_column(
        "conversations",
        sa.Column("bot_misses", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("conversations", "bot_misses")
    op.drop_column("queues", "bot")
