"""Messaging mode (``business.threads``): ``queues.mode`` (``live`` or ``messaging``;
every existing queue stays ``live``) and ``conversations.locked`` (a thread its agent
locked; every existing conversation stays unlocked). Both have server defaults and are
NOT NULL, which SQLite adds without copying the tables.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("queues", sa.Column("mode", sa.String(), server_default="live", nullable=False))
    op.add_column(
        "conversations",
        sa.Column("locked", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("conversations", "locked")
    op.drop_column("queues", "mode")
