"""The agent desk's configuration: queue and agent settings, canned responses.

- queues: ``offer_timeout`` (seconds, 20), ``wrap_up_codes`` (JSON list), ``require_wrap_up``,
  ``skills`` (JSON object, skill -> minimum level), ``last_agent_window`` (seconds, 86400;
  NULL: off).
- agents: ``role`` ('agent' or 'supervisor'), ``supervises`` (JSON list of queues),
  ``skills`` (JSON object, skill -> level).
- ``canned_responses``: prepared answers by (tenant, queue, name); queue '' is tenant-wide.

Every new column has a server default, so existing rows get the defaults and SQLite can
add the columns without copying the tables.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
EMPTY_LIST = sa.text("'[]'")
EMPTY_OBJECT = sa.text("'{}'")


def upgrade() -> None:
    op.add_column(
        "queues", sa.Column("offer_timeout", sa.Integer(), nullable=False, server_default="20")
    )
    op.add_column(
        "queues", sa.Column("wrap_up_codes", JSON, nullable=False, server_default=EMPTY_LIST)
    )
    op.add_column(
        "queues",
        sa.Column("require_wrap_up", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("queues", sa.Column("skills", JSON, nullable=False, server_default=EMPTY_OBJECT))
    op.add_column(
        "queues",
        sa.Column("last_agent_window", sa.Integer(), nullable=True, server_default="86400"),
    )

    op.add_column("agents", sa.Column("role", sa.String(), nullable=False, server_default="agent"))
    op.add_column(
        "agents", sa.Column("supervises", JSON, nullable=False, server_default=EMPTY_LIST)
    )
    op.add_column("agents", sa.Column("skills", JSON, nullable=False, server_default=EMPTY_OBJECT))

    op.create_table(
        "canned_responses",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_canned_responses_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "queue", "name", name="pk_canned_responses"),
    )


def downgrade() -> None:
    op.drop_table("canned_responses")
    for column in ("skills", "supervises", "role"):
        op.drop_column("agents", column)
    for column in (
        "last_agent_window",
        "skills",
        "require_wrap_up",
        "wrap_up_codes",
        "offer_timeout",
    ):
        op.drop_column("queues", column)
