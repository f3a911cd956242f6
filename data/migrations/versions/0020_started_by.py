"""What started a conversation: ``conversations.started_by``, the JSON document
``{"chain", "trigger"}`` of ``business.visit.StartedBy`` (the chat manager's chain step
and the trigger that fired). NULL: not told, which is what every existing conversation
stays. Nullable, so SQLite adds it without copying the table. (The visit's page views
need no migration: they are keys of the ``context`` JSON.)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.add_column("conversations", sa.Column("started_by", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("conversations", "started_by")
