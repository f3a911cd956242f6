"""Queue opening hours: ``queues.opening_hours``, the JSON document of
``business.opening_hours`` (time zone, weekly intervals, closed dates); NULL: always open,
which is what every existing queue stays. Nullable, so SQLite adds it without copying the
table.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.add_column("queues", sa.Column("opening_hours", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("queues", "opening_hours")
