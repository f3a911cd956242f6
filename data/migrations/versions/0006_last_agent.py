"""Last-agent routing: a visitor remembers who served them last, a conversation whom it
is offered to first.

- ``visitors.last_agent_id``, ``visitors.last_served_at``: written when a chat with an
  agent ends.
- ``conversations.preferred_agent_id``: set at the start from the above, within the
  queue's ``last_agent_window``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("visitors", sa.Column("last_agent_id", sa.String(), nullable=True))
    op.add_column("visitors", sa.Column("last_served_at", TIMESTAMP, nullable=True))
    op.add_column("conversations", sa.Column("preferred_agent_id", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "preferred_agent_id")
    op.drop_column("visitors", "last_served_at")
    op.drop_column("visitors", "last_agent_id")
