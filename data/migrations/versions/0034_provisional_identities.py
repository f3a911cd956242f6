"""Provisional identity bindings (issue 10's review): ``visitor_identities.verified_at``
may be NULL, for a ``sub`` an outbound thread gave a visitor before anybody signed in as
it (``business.outbound_visitors``). No token has verified such a binding, so the first
signed visit may still take it over (``business.identities``). Existing rows were all
verified by a token: they keep their time.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite cannot drop NOT NULL in place: the batch copies the table.
    with op.batch_alter_table("visitor_identities") as batch:
        batch.alter_column("verified_at", existing_type=sa.DateTime(timezone=True), nullable=True)


def downgrade() -> None:
    # A provisional binding was never verified: it counts as verified when it was made
    # is not known, so the time of the downgrade stands in.
    op.execute(
        sa.text(
            "UPDATE visitor_identities SET verified_at = CURRENT_TIMESTAMP "
            "WHERE verified_at IS NULL"
        )
    )
    with op.batch_alter_table("visitor_identities") as batch:
        batch.alter_column("verified_at", existing_type=sa.DateTime(timezone=True), nullable=False)
