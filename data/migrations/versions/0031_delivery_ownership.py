"""Delivery ownership (issue 12): ``engine_nodes``, one row per running engine process
with its lease, and ``delivery_owners``, the node that sends each conversation's events
to its agents (``business.delivery_ownership``). Written on PostgreSQL only.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "engine_nodes",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("lease_until", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_engine_nodes"),
    )
    op.create_table(
        "delivery_owners",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_delivery_owners_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_delivery_owners"),
    )
    op.create_index("ix_delivery_owners_node_id", "delivery_owners", ["node_id"])


def downgrade() -> None:
    op.drop_index("ix_delivery_owners_node_id", table_name="delivery_owners")
    op.drop_table("delivery_owners")
    op.drop_table("engine_nodes")
