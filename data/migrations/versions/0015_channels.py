"""Channels: where a conversation's visitor writes from (``business.model.Channel``).

- ``conversations.channel``: ``web`` (the widget) or ``api`` (an integrator's bridge to
  another messaging service); existing rows are ``web`` through the server default.
- ``conversations.provider`` and ``conversations.external_id``: for ``api``, the
  integrator's label of the service and the visitor's address on it (NULL for ``web``).
  An api conversation is found through its visitor (one visitor per tenant, provider and
  address: ``business.api_channel``), so no index is added.
- ``conversation_reports.channel``: the report row says it too (``web`` for the rows
  already written, which all are).

Every column is nullable or has a server default, so SQLite adds them without copying
the tables.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("channel", sa.String(), nullable=False, server_default="web"),
    )
    op.add_column("conversations", sa.Column("provider", sa.String(), nullable=True))
    op.add_column("conversations", sa.Column("external_id", sa.String(), nullable=True))
    op.add_column(
        "conversation_reports",
        sa.Column("channel", sa.String(), nullable=False, server_default="web"),
    )


def downgrade() -> None:
    op.drop_column("conversation_reports", "channel")
    op.drop_column("conversations", "external_id")
    op.drop_column("conversations", "provider")
    op.drop_column("conversations", "channel")
