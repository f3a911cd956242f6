"""Rich canned responses: ``canned_responses.rich``, the response's rich content
(``business.rich``'s JSON form) or NULL for text alone, so existing rows need no data.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("canned_responses") as batch:
        batch.add_column(sa.Column("rich", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("canned_responses") as batch:
        batch.drop_column("rich")
