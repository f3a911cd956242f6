"""Transcripts by e-mail.

- ``tenants.transcript_auto_send``: e-mail the visitor the transcript when a
  conversation ends (off; existing tenants keep it off through the server default).
- ``transcript_mails``: the outbox of transcripts to send, written in the transaction
  that decides each (a visitor's request, or the end of a conversation), so an
  acknowledged request survives a restart.

Revision ID: 0014
Revises: 0010 (chained after the webhooks when main was merged in; written against 0013,
it touches nothing of 0010)
Create Date: 2026-12-12
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MAILS = "transcript_mails"
_DUE_INDEX = "ix_transcript_mails_status_next_attempt_at"


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("transcript_auto_send", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        _MAILS,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_transcript_mails"),
        sa.UniqueConstraint(
            "conversation_id", "number", name="uq_transcript_mails_conversation_id_number"
        ),
    )
    op.create_index(_DUE_INDEX, _MAILS, ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index(_DUE_INDEX, table_name=_MAILS)
    op.drop_table(_MAILS)
    op.drop_column("tenants", "transcript_auto_send")
