"""Inactivity (``business.inactivity``): the queues' rules, in seconds
(``visitor_idle_alert``, ``visitor_idle_close``, ``agent_reply_reminder``, all 0: off;
``agent_reply_reroute``; ``messaging_idle``, 86400: the 24 h visit-idle rule of
messaging mode), and each conversation's next deadline (``idle_due_at``, indexed: the
inactivity clock reads the soonest) with its rule (``idle_step``). Every new column has
a server default or is nullable, which SQLite adds without copying the tables.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_INDEX = "ix_conversations_idle_due_at"
_SECONDS = (
    ("visitor_idle_alert", "0"),
    ("visitor_idle_close", "0"),
    ("agent_reply_reminder", "0"),
    ("messaging_idle", "86400"),
)


def upgrade() -> None:
    for name, default in _SECONDS:
        op.add_column(
            "queues", sa.Column(name, sa.Integer(), server_default=default, nullable=False)
        )
    op.add_column(
        "queues",
        sa.Column("agent_reply_reroute", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("conversations", sa.Column("idle_due_at", TIMESTAMP, nullable=True))
    op.add_column("conversations", sa.Column("idle_step", sa.String(), nullable=True))
    op.create_index(_INDEX, "conversations", ["idle_due_at"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="conversations")
    op.drop_column("conversations", "idle_step")
    op.drop_column("conversations", "idle_due_at")
    op.drop_column("queues", "agent_reply_reroute")
    for name, _default in reversed(_SECONDS):
        op.drop_column("queues", name)
