"""The integrators' tables: API keys, webhook subscriptions with their outbox and
attempts, and transcript mails (split from ``data.models``, on the same ``Base``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from data.models import JSON_TYPE, Base


class ApiKeyRow(Base):
    """An API key (``business.model.ApiKey``) with the SHA-256 of its secret; the secret
    itself is never stored. ``tenant_id`` is NULL for the operator's platform keys."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(primary_key=True)
    # Serves the listing of one tenant's keys.
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    scope: Mapped[str]
    name: Mapped[str]
    secret_hash: Mapped[str]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebhookSubscriptionRow(Base):
    """A tenant's webhook subscription (``business.webhook_model.WebhookSubscription``).
    The secret is kept as it is: signing needs it (it is shown to the tenant's
    administrators, like an API key they can rotate)."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (Index(None, "tenant_id", "created_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str]
    previous_secret: Mapped[str | None]
    previous_secret_until: Mapped[datetime | None]
    event_types: Mapped[list[str]] = mapped_column(JSON_TYPE)
    description: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool]
    created_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One event for one subscription: the outbox row, written with the event, and then
    the delivery's state (``business.webhook_model.WebhookDelivery``).

    No foreign key to the subscription: the message path writes these from a cached
    list of subscriptions, and a subscription deleted meanwhile (by another process)
    must not fail the visitor's message; the dispatcher joins the subscriptions, so such
    a row is never sent, and the deletion removes the rows it sees.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Serves the dispatcher's look for due ones.
        Index(None, "status", "next_attempt_at"),
        # Serves the order check (an earlier pending one of the same conversation) and
        # a subscription's removal.
        Index(None, "subscription_id", "conversation_id", "pos", "part"),
        # Serves the delivery log, newest first.
        Index(None, "tenant_id", "created_at"),
        # Serves the removal of old finished ones.
        Index(None, "finished_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    subscription_id: Mapped[str]
    conversation_id: Mapped[str]
    pos: Mapped[int]
    part: Mapped[int]
    event_type: Mapped[str]
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str]
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int]
    failures: Mapped[int]
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


class WebhookAttemptRow(Base):
    """One attempt of a delivery (``business.webhook_model.DeliveryAttempt``)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (PrimaryKeyConstraint("delivery_id", "number"),)

    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]


class TranscriptMailRow(Base):
    """A transcript to e-mail (``business.transcript_mail_ports.QueuedTranscript``): the
    outbox the sender works through. No foreign keys, like the reports: a row is
    history once sent. UNIQUE (conversation_id, number) caps a conversation's requests
    and serves counting them; (status, next_attempt_at) finds those due."""

    __tablename__ = "transcript_mails"
    __table_args__ = (
        UniqueConstraint("conversation_id", "number"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    tenant_id: Mapped[str]
    conversation_id: Mapped[str]
    number: Mapped[int]
    address: Mapped[str]
    created_at: Mapped[datetime]
    status: Mapped[str]
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
