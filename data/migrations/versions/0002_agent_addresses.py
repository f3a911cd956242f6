"""Agents get an address apart from their id; queues count their waiting conversations
and may cap them; presence subscriptions become adapter state.

- ``agents.address``: the agent desk's address (the XMPP JID). Existing agents keep their
  id, which was their JID, and get it as their address, so every conversation and event
  that names them stays valid.
- ``queues.waiting`` (filled from the queued conversations) and ``queues.max_waiting``.
- conversations are indexed by (visitor, state, created_at) instead of visitor alone.
- ``adapter_state`` replaces ``agent_subscriptions``: the XMPP bridge owns that state now,
  stored under adapter ``xmpp.subscription`` with key ``"<address> <queue>"``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SUBSCRIPTION = "xmpp.subscription"

_subscriptions = sa.table(
    "agent_subscriptions",
    sa.column("agent_id", sa.String()),
    sa.column("queue", sa.String()),
    sa.column("agent_sees_queue", sa.Boolean()),
    sa.column("queue_sees_agent", sa.Boolean()),
)
_adapter_state = sa.table(
    "adapter_state",
    sa.column("adapter", sa.String()),
    sa.column("key", sa.String()),
    sa.column("value", JSON),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # SQLite adds a NOT NULL column only with a default; PostgreSQL then drops it so the
    # schema matches the models.
    op.add_column("agents", sa.Column("address", sa.String(), nullable=False, server_default=""))
    op.execute("UPDATE agents SET address = id")
    if postgres:
        op.alter_column("agents", "address", server_default=None)
    op.create_index("ix_agents_address", "agents", ["address"], unique=True)

    op.add_column("queues", sa.Column("waiting", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("queues", sa.Column("max_waiting", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE queues SET waiting = (SELECT count(*) FROM conversations c "
        "WHERE c.tenant_id = queues.tenant_id AND c.queue = queues.name "
        "AND c.state = 'queued')"
    )
    if postgres:
        op.alter_column("queues", "waiting", server_default=None)

    # A visitor's open conversations and newest ended one, however many ended ones.
    op.drop_index("ix_conversations_visitor_id", table_name="conversations")
    op.create_index(
        "ix_conversations_visitor_id_state_created_at",
        "conversations",
        ["visitor_id", "state", "created_at"],
    )

    op.create_table(
        "adapter_state",
        sa.Column("adapter", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.PrimaryKeyConstraint("adapter", "key", name="pk_adapter_state"),
    )
    rows = op.get_bind().execute(sa.select(_subscriptions)).all()
    if rows:
        op.bulk_insert(
            _adapter_state,
            [
                {
                    "adapter": SUBSCRIPTION,
                    "key": f"{row.agent_id} {row.queue}",
                    "value": {
                        "agent_sees_queue": bool(row.agent_sees_queue),
                        "queue_sees_agent": bool(row.queue_sees_agent),
                    },
                }
                for row in rows
            ],
        )
    op.drop_table("agent_subscriptions")


def downgrade() -> None:
    op.create_table(
        "agent_subscriptions",
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("agent_sees_queue", sa.Boolean(), nullable=False),
        sa.Column("queue_sees_agent", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "queue", name="pk_agent_subscriptions"),
    )
    rows = (
        op.get_bind()
        .execute(sa.select(_adapter_state).where(_adapter_state.c.adapter == SUBSCRIPTION))
        .all()
    )
    subscriptions = []
    for row in rows:
        agent_id, _, queue = row.key.rpartition(" ")
        subscriptions.append(
            {
                "agent_id": agent_id,
                "queue": queue,
                "agent_sees_queue": bool(row.value.get("agent_sees_queue")),
                "queue_sees_agent": bool(row.value.get("queue_sees_agent")),
            }
        )
    if subscriptions:
        op.bulk_insert(_subscriptions, subscriptions)
    op.drop_table("adapter_state")
    op.drop_index("ix_conversations_visitor_id_state_created_at", table_name="conversations")
    op.create_index("ix_conversations_visitor_id", "conversations", ["visitor_id"])
    op.drop_column("queues", "max_waiting")
    op.drop_column("queues", "waiting")
    op.drop_index("ix_agents_address", table_name="agents")
    op.drop_column("agents", "address")
