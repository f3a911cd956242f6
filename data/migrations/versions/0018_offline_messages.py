"""Offline messages: ``conversations.offline`` marks a conversation a visitor left as an
offline message (``business.offline_messages``) while nobody was online; existing rows
are ordinary chats through the server default. ``conversations.offline_message_id`` is
the client's id of the visitor's latest offline message while they have written nothing
since (their answers are mailed then, ``business.offline_answers``); NULL otherwise.

The columns have a server default or are nullable, so SQLite adds them without copying
the table.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("offline", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversations", sa.Column("offline_message_id", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "offline_message_id")
    op.drop_column("conversations", "offline")
