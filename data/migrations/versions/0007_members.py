"""Members: agents in a conversation besides its owner (transfer, conference, consult).

- ``conversations.offer_kind`` (default 'route': every existing offer is a routed one),
  ``offer_by`` (the agent who made it; NULL: the router), ``offer_note``.
- ``conversations.members``: the current members, a JSON list of ``{agent_id, name,
  role}`` (default '[]': nobody besides the owner so far).
- ``conversation_members``: one row per member and per former owner still being
  delivered to, with its delivery cursor; the index on (agent_id, left_pos) serves an
  agent's current memberships (their load, their chats).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(JSONB(), "postgresql")
_MEMBERS = "conversation_members"
_INDEX = "ix_conversation_members_agent_id_left_pos"


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("offer_kind", sa.String(), nullable=False, server_default="route"),
    )
    op.add_column("conversations", sa.Column("offer_by", sa.String(), nullable=True))
    op.add_column("conversations", sa.Column("offer_note", sa.Text(), nullable=True))
    op.add_column(
        "conversations",
        sa.Column("members", JSON_TYPE, nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_table(
        _MEMBERS,
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("joined_pos", sa.Integer(), nullable=False),
        sa.Column("delivered_pos", sa.Integer(), nullable=False),
        sa.Column("left_pos", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_members_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "agent_id", name="pk_conversation_members"),
    )
    op.create_index(_INDEX, _MEMBERS, ["agent_id", "left_pos"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name=_MEMBERS)
    op.drop_table(_MEMBERS)
    for column in ("members", "offer_note", "offer_by", "offer_kind"):
        op.drop_column("conversations", column)
