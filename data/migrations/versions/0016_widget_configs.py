"""The widget's configuration per tenant.

- ``widget_configs``: one row per tenant that changed the default configuration (active
  or in maintenance, display mode, theme, texts, items and triggers) as one validated
  JSON document (``business.widget_config``). A tenant without a row has the default,
  so existing tenants need no data.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "widget_configs"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_widget_configs_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_widget_configs"),
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
