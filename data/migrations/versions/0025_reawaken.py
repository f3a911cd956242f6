"""Reawaken (``business.reawaken_rules``): ``queues.reawaken_window`` (seconds a held
chat the visitor answered waits for its agent alone; every existing queue gets the
default 120, 0 turns it off) and ``conversations.reserved_until`` (until when a queued
chat waits for its agent alone; NULL for every existing conversation), indexed: the
reawaken clock reads the reservations due, soonest first.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_INDEX = "ix_conversations_reserved_until"


def upgrade() -> None:
    op.add_column(
        "queues",
        sa.Column("reawaken_window", sa.Integer(), server_default="120", nullable=False),
    )
    op.add_column("conversations", sa.Column("reserved_until", TIMESTAMP, nullable=True))
    op.create_index(_INDEX, "conversations", ["reserved_until"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="conversations")
    op.drop_column("conversations", "reserved_until")
    op.drop_column("queues", "reawaken_window")
