"""Webhooks: subscriptions, the outbox of deliveries and the log of their attempts.

- ``webhook_subscriptions``: a tenant's target URL, its Standard Webhooks secret (and the
  previous one during a rotation), the event types it wants, whether it is enabled.
- ``webhook_deliveries``: one row per (subscription, event), written in the event's
  transaction, with the body as sent and the delivery's state (pending, delivered,
  failed), its next attempt and its backoff. No foreign key to the subscription (see
  ``data.models.WebhookDeliveryRow``).
- ``webhook_attempts``: every attempt (status, error, duration), removed with its
  delivery.

Revision ID: 0010
Revises: 0013 (chained after the bots when main was merged in; written against 0008, it
touches nothing of 0009 to 0013)
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)
_SUBSCRIPTIONS = "webhook_subscriptions"
_DELIVERIES = "webhook_deliveries"
_ATTEMPTS = "webhook_attempts"
_DELIVERY_INDEXES = {
    "ix_webhook_deliveries_status_next_attempt_at": ["status", "next_attempt_at"],
    "ix_webhook_deliveries_subscription_id_conversation_id_pos_part": [
        "subscription_id",
        "conversation_id",
        "pos",
        "part",
    ],
    "ix_webhook_deliveries_tenant_id_created_at": ["tenant_id", "created_at"],
    "ix_webhook_deliveries_finished_at": ["finished_at"],
}


def upgrade() -> None:
    op.create_table(
        _SUBSCRIPTIONS,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.String(), nullable=False),
        sa.Column("previous_secret", sa.String(), nullable=True),
        sa.Column("previous_secret_until", UTC_DATETIME, nullable=True),
        sa.Column("event_types", JSON, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_webhook_subscriptions_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_index(
        "ix_webhook_subscriptions_tenant_id_created_at", _SUBSCRIPTIONS, ["tenant_id", "created_at"]
    )
    op.create_table(
        _DELIVERIES,
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("subscription_id", sa.String(), nullable=False),
        sa.Column("conversation_id", sa.String(), nullable=False),
        sa.Column("pos", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("queued_at", UTC_DATETIME, nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
    )
    for name, columns in _DELIVERY_INDEXES.items():
        op.create_index(name, _DELIVERIES, columns)
    op.create_table(
        _ATTEMPTS,
        sa.Column("delivery_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTC_DATETIME, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", "number", name="pk_webhook_attempts"),
    )


def downgrade() -> None:
    op.drop_table(_ATTEMPTS)
    for name in _DELIVERY_INDEXES:
        op.drop_index(name, table_name=_DELIVERIES)
    op.drop_table(_DELIVERIES)
    op.drop_index("ix_webhook_subscriptions_tenant_id_created_at", table_name=_SUBSCRIPTIONS)
    op.drop_table(_SUBSCRIPTIONS)
