"""Webhooks: a tenant's subscriptions, the deliveries of the outbox and their attempts.

A subscription names a target URL, the Standard Webhooks secret its deliveries are
signed with and the event types it wants. Each (subscription, event) it wants becomes
one ``WebhookDelivery`` row, written in the transaction that stores the event
(``business.webhook_outbox``) and sent from there by the dispatcher
(``business.webhook_dispatcher``); every try is a ``DeliveryAttempt`` in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

from business.model import ConversationId, TenantId

SubscriptionId = NewType("SubscriptionId", str)
DeliveryId = NewType("DeliveryId", str)
"""Also the ``webhook-id`` header: the same on every attempt, so receivers deduplicate."""


class WebhookEventType(StrEnum):
    """What a subscription can ask for (``docs/integrator-guide.md``, Webhooks)."""

    MESSAGE_CREATED = "message.created"
    """A message the visitor sees: theirs, an agent's, a bot's or the system's."""
    MESSAGE_UPDATED = "message.updated"
    """An agent corrected a message (the visitor sees the new text)."""
    PARTICIPANT_JOINED = "participant.joined"
    PARTICIPANT_LEFT = "participant.left"
    """Joins and leaves the visitor sees (not consultants', not silent monitors')."""
    STATE_CHANGED = "conversation.state_changed"
    """bot, queued (also each new queue position), active, on_hold, ended."""
    TRANSFERRED = "conversation.transferred"
    ENDED = "conversation.ended"
    NOTE_CREATED = "note.created"
    """An internal note: agents' words about the visitor, never shown to them."""
    VISITOR_UPDATED = "visitor.updated"
    """The site told who the visitor is mid-chat (``ChatEngine.identify``): once per
    open conversation of theirs."""


INTERNAL_EVENT_TYPES: frozenset[WebhookEventType] = frozenset({WebhookEventType.NOTE_CREATED})
"""Types with text only agents see: sent only to a subscription that names them, never
to one that asked for every type (a bot that wants everything must not be handed the
agents' notes by accident)."""

PUBLIC_EVENT_TYPES: tuple[WebhookEventType, ...] = tuple(
    t for t in WebhookEventType if t not in INTERNAL_EVENT_TYPES
)
"""What a subscription with no event types gets."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSubscription:
    """Invariants: ``url`` passed ``business.webhook_targets.check_url`` when it was set;
    ``secret`` is a ``whsec_`` secret (``business.webhook_signing``); ``previous_secret``
    is set exactly when ``previous_secret_until`` is."""

    id: SubscriptionId
    tenant_id: TenantId
    url: str
    secret: str
    event_types: tuple[WebhookEventType, ...] = ()
    """Empty: every public type (``PUBLIC_EVENT_TYPES``)."""
    enabled: bool = True
    """A disabled subscription gets no new deliveries, and its pending ones wait."""
    description: str = ""
    created_at: datetime
    previous_secret: str | None = None
    """The secret before the last rotation: deliveries carry a signature with it too
    until ``previous_secret_until``, so receivers can switch without losing any."""
    previous_secret_until: datetime | None = None

    def wants(self, event_type: WebhookEventType) -> bool:
        if not self.event_types:
            return event_type not in INTERNAL_EVENT_TYPES
        return event_type in self.event_types

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets a delivery sent at ``now`` is signed with, current first."""
        previous = self.previous_secret
        until = self.previous_secret_until
        if previous is not None and until is not None and now < until:
            return (self.secret, previous)
        return (self.secret,)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Waiting for its (next) attempt, or being attempted."""
    DELIVERED = "delivered"
    """The target answered 2xx."""
    FAILED = "failed"
    """Given up: the attempts or the time allowed ran out (``WebhookSettings``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDelivery:
    """One event for one subscription: the body is stored as it is sent, so every attempt
    and a redelivery send the same bytes.

    Order: deliveries of one (subscription, conversation) go in (``pos``, ``part``)
    order; a later one is not attempted while an earlier one is pending.
    """

    id: DeliveryId
    tenant_id: TenantId
    subscription_id: SubscriptionId
    conversation_id: ConversationId
    pos: int
    """The event's place in its conversation."""
    part: int = 0
    """Which of the webhook events made from that one event (``conversation.ended``
    follows the ``state_changed`` of the same event)."""
    event_type: WebhookEventType
    body: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    created_at: datetime
    queued_at: datetime
    """When it was staged or last redelivered: the time allowed counts from here."""
    next_attempt_at: datetime
    """When it is due; while an attempt runs, when that attempt's claim lapses."""
    attempts: int = 0
    """Attempts ever begun (they number the log)."""
    failures: int = 0
    """Failed attempts since ``queued_at``: what the backoff grows with."""
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    """When it was delivered or given up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAttempt:
    delivery_id: DeliveryId
    number: int
    attempted_at: datetime
    status_code: int | None
    """The target's HTTP status; None when no answer came (``error`` says why)."""
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryLog:
    """A delivery with every attempt made, oldest first."""

    delivery: WebhookDelivery
    attempts: tuple[DeliveryAttempt, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DueDelivery:
    """A pending delivery whose time has come, with what sending it needs."""

    delivery: WebhookDelivery
    url: str
    secrets: tuple[str, ...]
