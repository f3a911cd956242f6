"""Initial schema: tenants, queues, visitors, conversations, events, agents.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types in data.models: a revision must keep meaning what it
# meant when it was written, whatever the models become later.
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "queues",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_queues_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("tenant_id", "name", name="pk_queues"),
    )
    op.create_table(
        "visitors",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_visitors_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visitors"),
        sa.UniqueConstraint("tenant_id", "token_hash", name="uq_visitors_tenant_id_token_hash"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("visitor_id", sa.String(), nullable=False),
        sa.Column("visitor_name", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("context", JSON, nullable=False),
        sa.Column("form", JSON, nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("agent_name", sa.String(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("visitor_read_seq", sa.Integer(), nullable=False),
        sa.Column("agent_delivered_seq", sa.Integer(), nullable=False),
        sa.Column("queue_position", sa.Integer(), nullable=True),
        sa.Column("assigned_at", TIMESTAMP, nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "queue"],
            ["queues.tenant_id", "queues.name"],
            name="fk_conversations_tenant_id_queue_queues",
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["visitors.id"], name="fk_conversations_visitor_id_visitors"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index(
        "ix_conversations_tenant_id_queue_state_created_at",
        "conversations",
        ["tenant_id", "queue", "state", "created_at"],
    )
    op.create_index("ix_conversations_visitor_id", "conversations", ["visitor_id"])
    op.create_index("ix_conversations_agent_id", "conversations", ["agent_id"])
    op.create_table(
        "conversation_events",
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("event_id", sa.String(), nullable=True),
        sa.Column("client_msg_id", sa.String(), nullable=True),
        sa.Column("sender_kind", sa.String(), nullable=True),
        sa.Column("sender_name", sa.String(), nullable=True),
        sa.Column("sender_id", sa.String(), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_events_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "seq", name="pk_conversation_events"),
        sa.UniqueConstraint(
            "conversation_id",
            "client_msg_id",
            name="uq_conversation_events_conversation_id_client_msg_id",
        ),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("max_chats", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("ready_since", TIMESTAMP, nullable=True),
        sa.Column("last_routed_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_agents_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )
    op.create_table(
        "agent_queues",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name="fk_agent_queues_agent_id_agents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "position", name="pk_agent_queues"),
    )
    op.create_index("ix_agent_queues_queue_agent_id", "agent_queues", ["queue", "agent_id"])
    op.create_table(
        "agent_subscriptions",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("agent_sees_queue", sa.Boolean(), nullable=False),
        sa.Column("queue_sees_agent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "queue", name="pk_agent_subscriptions"),
    )


def downgrade() -> None:
    op.drop_table("agent_subscriptions")
    op.drop_index("ix_agent_queues_queue_agent_id", table_name="agent_queues")
    op.drop_table("agent_queues")
    op.drop_table("agents")
    op.drop_table("conversation_events")
    op.drop_index("ix_conversations_agent_id", table_name="conversations")
    op.drop_index("ix_conversations_visitor_id", table_name="conversations")
    op.drop_index("ix_conversations_tenant_id_queue_state_created_at", table_name="conversations")
    op.drop_table("conversations")
    op.drop_table("visitors")
    op.drop_table("queues")
    op.drop_table("tenants")
