"""Signed visitor identities.

- ``identity_settings``: a tenant's mode, audience and verification keys; a tenant
  without a row has identities off, so existing tenants need no data.
- ``visitor_identities``: which visitor a verified ``sub`` is (one each way).
- ``visitor_device_tokens``: the other browsers' tokens of an identified visitor, with
  their last use (the least recently used beyond a visitor's cap, and those unused for
  long, are deleted).

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "identity_settings",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("audience", sa.String(), nullable=True),
        sa.Column("keys", JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_identity_settings_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_identity_settings"),
    )
    op.create_table(
        "visitor_identities",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("sub", sa.String(), nullable=False),
        sa.Column("visitor_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_visitor_identities_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["visitors.id"], name="fk_visitor_identities_visitor_id_visitors"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "sub", name="pk_visitor_identities"),
        sa.UniqueConstraint("visitor_id", name="uq_visitor_identities_visitor_id"),
    )
    op.create_table(
        "visitor_device_tokens",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("visitor_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_visitor_device_tokens_tenant_id_tenants"
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["visitors.id"], name="fk_visitor_device_tokens_visitor_id_visitors"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "token_hash", name="pk_visitor_device_tokens"),
    )
    op.create_index("ix_visitor_device_tokens_visitor_id", "visitor_device_tokens", ["visitor_id"])
    op.create_index(
        "ix_visitor_device_tokens_tenant_id_last_used_at",
        "visitor_device_tokens",
        ["tenant_id", "last_used_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_visitor_device_tokens_tenant_id_last_used_at", table_name="visitor_device_tokens"
    )
    op.drop_index("ix_visitor_device_tokens_visitor_id", table_name="visitor_device_tokens")
    op.drop_table("visitor_device_tokens")
    op.drop_table("visitor_identities")
    op.drop_table("identity_settings")
