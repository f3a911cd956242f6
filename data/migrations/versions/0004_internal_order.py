"""Events get an internal order: ``pos`` for every stored event, ``seq`` only for those
the visitor sees.

- ``conversation_events.pos``: an event's place among all of its conversation's events
  (filled with its ``seq``: every event stored so far is one the visitor sees). It
  becomes the primary key with ``conversation_id``; ``seq`` turns nullable (events only
  agents see, such as internal notes, have none) and stays unique per conversation.
- ``conversations.last_pos`` (filled with ``last_seq``), and the agent delivery cursor
  counts positions: ``agent_delivered_seq`` is renamed ``agent_delivered_pos``.

SQLite cannot change a primary key in place: the events table is copied once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = "conversation_events"
_PK = "pk_conversation_events"
_UQ_SEQ = "uq_conversation_events_conversation_id_seq"


def _recreate() -> Literal["always", "never"]:
    return "always" if op.get_bind().dialect.name == "sqlite" else "never"


def upgrade() -> None:
    op.add_column(
        "conversations", sa.Column("last_pos", sa.Integer(), nullable=False, server_default="0")
    )
    op.execute("UPDATE conversations SET last_pos = last_seq")
    op.execute("ALTER TABLE conversations RENAME COLUMN agent_delivered_seq TO agent_delivered_pos")

    op.add_column(_EVENTS, sa.Column("pos", sa.Integer(), nullable=False, server_default="0"))
    op.execute(f"UPDATE {_EVENTS} SET pos = seq")
    with op.batch_alter_table(_EVENTS, recreate=_recreate()) as batch:
        batch.drop_constraint(_PK, type_="primary")
        batch.create_primary_key(_PK, ["conversation_id", "pos"])
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=True)
        batch.create_unique_constraint(_UQ_SEQ, ["conversation_id", "seq"])
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("conversations", "last_pos", server_default=None)
        op.alter_column(_EVENTS, "pos", server_default=None)


def downgrade() -> None:
    # What the visitor never saw has no place in the older schema.
    op.execute(f"DELETE FROM {_EVENTS} WHERE seq IS NULL")
    # Delivery goes on from the last visible event the agent had been sent.
    op.execute(
        "UPDATE conversations SET agent_delivered_pos = "
        f"(SELECT COALESCE(MAX(e.seq), 0) FROM {_EVENTS} e "
        "WHERE e.conversation_id = conversations.id AND e.pos <= conversations.agent_delivered_pos)"
    )
    with op.batch_alter_table(_EVENTS, recreate=_recreate()) as batch:
        batch.drop_constraint(_UQ_SEQ, type_="unique")
        batch.drop_constraint(_PK, type_="primary")
        batch.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch.create_primary_key(_PK, ["conversation_id", "seq"])
        batch.drop_column("pos")
    op.execute("ALTER TABLE conversations RENAME COLUMN agent_delivered_pos TO agent_delivered_seq")
    op.drop_column("conversations", "last_pos")
