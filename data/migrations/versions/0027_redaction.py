"""PII redaction (``business.redaction``): ``redaction_settings``, a tenant's choice of
what is masked in messages. A tenant without a row has the defaults (card numbers and
IBANs masked), so existing tenants need no data; nothing already stored is rewritten.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "redaction_settings",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("cards", sa.Boolean(), nullable=False),
        sa.Column("ibans", sa.Boolean(), nullable=False),
        sa.Column("emails", sa.Boolean(), nullable=False),
        sa.Column("phones", sa.Boolean(), nullable=False),
        sa.Column("phone_region", sa.String(), nullable=True),
        sa.Column("patterns", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_redaction_settings_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_redaction_settings"),
    )


def downgrade() -> None:
    op.drop_table("redaction_settings")
