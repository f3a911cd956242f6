"""A queue's own inactivity texts (issue 11): ``visitor_idle_alert_text`` and
``visitor_idle_close_text`` on ``queues``, NULL (the built-in text in the tenant's
language, ``business.inactivity_texts``) unless an administrator wrote one. Nullable
columns, which SQLite adds without copying the table.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXTS = ("visitor_idle_alert_text", "visitor_idle_close_text")


def upgrade() -> None:
    for name in _TEXTS:
        op.add_column("queues", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    for name in reversed(_TEXTS):
        op.drop_column("queues", name)
