"""Conversation reports and the live counts of ``/metrics``.

- ``conversation_reports``: one row per ended conversation, its metrics
  (``business.report_metrics``); written by the transaction that ends it. Conversations
  that ended before this revision have none (their events are kept: a report could be
  computed from them later).
- an index on ``conversations`` (state, tenant_id, queue): the open conversations per
  tenant, queue and state are counted from its few open entries.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPORTS = "conversation_reports"
_REPORT_INDEXES = {
    "ix_conversation_reports_tenant_id_ended_at_conversation_id": [
        "tenant_id",
        "ended_at",
        "conversation_id",
    ],
    "ix_conversation_reports_tenant_id_queue_ended_at": ["tenant_id", "queue", "ended_at"],
    "ix_conversation_reports_tenant_id_agent_id_ended_at": ["tenant_id", "agent_id", "ended_at"],
}
_OPEN_INDEX = "ix_conversations_state_tenant_id_queue"


def upgrade() -> None:
    op.create_table(
        _REPORTS,
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("visitor_id", sa.String(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=True),
        sa.Column("agent_name", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.String(), nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("first_response_seconds", sa.Double(), nullable=True),
        sa.Column("handle_seconds", sa.Double(), nullable=True),
        sa.Column("messages_visitor", sa.Integer(), nullable=False),
        sa.Column("messages_agent", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("bot_handled", sa.Boolean(), nullable=False),
        sa.Column("wrap_up", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_conversation_reports"),
    )
    for name, columns in _REPORT_INDEXES.items():
        op.create_index(name, _REPORTS, columns)
    op.create_index(_OPEN_INDEX, "conversations", ["state", "tenant_id", "queue"])


def downgrade() -> None:
    op.drop_index(_OPEN_INDEX, table_name="conversations")
    for name in _REPORT_INDEXES:
        op.drop_index(name, table_name=_REPORTS)
    op.drop_table(_REPORTS)
