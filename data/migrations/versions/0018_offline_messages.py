"""Offline messages: ``conversations.offline`` marks a conversation a visitor left as an
offline message (``business.offline_messages``) while nobody was online; existing rows
are ordinary chats through the server default.

The column has a server default, so SQLite adds it without copying the table.

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


def downgrade() -> None:
    op.drop_column("conversations", "offline")
