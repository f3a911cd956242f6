"""The integrators' conversation search: an index on ``conversations`` (tenant_id,
created_at, id), so a tenant's conversations are listed newest first, and paged from
the last one seen, by walking the index from its end instead of sorting all of them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_conversations_tenant_id_created_at_id"


def upgrade() -> None:
    op.create_index(_INDEX, "conversations", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="conversations")
