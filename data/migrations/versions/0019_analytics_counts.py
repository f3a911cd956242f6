"""Web analytics counters.

- ``analytics_counts``: one row per (tenant, UTC day, kind, trigger) with how many page
  views, trigger impressions or engagements the widget reported (``business.analytics``);
  ``trigger_id`` is '' for page views. Aggregated: it grows with days and triggers, never
  with traffic. A new table, so existing data needs nothing.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "analytics_counts"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("trigger_id", sa.String(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_analytics_counts_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "kind", "trigger_id", name="pk_analytics_counts"
        ),
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
