"""File retention (``business.file_retention``): ``file_limits.retention_days`` (NULL:
files kept for ever, what every existing tenant keeps) and an index on ``files`` by
tenant and age, which the purge reads.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("file_limits", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_index("ix_files_tenant_id_created_at", "files", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_files_tenant_id_created_at", table_name="files")
    op.drop_column("file_limits", "retention_days")
