"""Offers: a queued conversation can be offered to one agent until a deadline.

- ``conversations.offered_to``, ``offered_name``, ``offer_expires_at`` (indexed: the
  offer clock reads the offers due, soonest first) and ``last_offered_to`` (who is not
  offered it again next). All nullable: nothing existing is offered.
- ``agents.auto_accept`` (default false): agents whose offers are taken at once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
_INDEX = "ix_conversations_offer_expires_at"


def upgrade() -> None:
    op.add_column("conversations", sa.Column("offered_to", sa.String(), nullable=True))
    op.add_column("conversations", sa.Column("offered_name", sa.String(), nullable=True))
    op.add_column("conversations", sa.Column("offer_expires_at", TIMESTAMP, nullable=True))
    op.add_column("conversations", sa.Column("last_offered_to", sa.String(), nullable=True))
    op.create_index(_INDEX, "conversations", ["offer_expires_at"])
    op.add_column(
        "agents",
        sa.Column("auto_accept", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("agents", "auto_accept")
    op.drop_index(_INDEX, table_name="conversations")
    for column in ("last_offered_to", "offer_expires_at", "offered_name", "offered_to"):
        op.drop_column("conversations", column)
