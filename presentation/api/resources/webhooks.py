"""``/webhooks`` and ``/webhook-deliveries``: the tenant's subscriptions to conversation
events, their delivery log, a new secret, a delivery sent again.

Through ``WebhookService`` (``business/webhooks.py``). The secret is in the answer to a
creation and to a rotation only: it is what the receiver verifies signatures with
(Standard Webhooks), and it is not shown again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from business.webhook_commands import (
    CreateWebhook,
    Redeliver,
    RotateWebhookSecret,
    UpdateWebhook,
)
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryId,
    DeliveryStatus,
    SubscriptionId,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
)
from presentation.api.fields import PatchBody
from presentation.api.pagination import Page, PageQuery, decode_cursor, encode_cursor, page_of
from presentation.api.registry import (
    ADMINS,
    READERS,
    Body,
    Call,
    Empty,
    NoContent,
    Params,
    Resource,
)

resource = Resource(
    "webhooks",
    "Webhooks: conversation events POSTed to your URL, signed as the Standard Webhooks "
    "specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried "
    "with backoff for up to a day, in order per conversation.",
)

_Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
_EVENT_TYPES = ", ".join(f"`{t.value}`" for t in WebhookEventType)


class WebhookOut(BaseModel):
    id: str
    url: str
    event_types: list[str] = Field(
        description=f"empty: every type but `note.created`; of {_EVENT_TYPES}"
    )
    enabled: bool
    description: str
    created_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(
        description="`whsec_…`: verify each delivery's signature with it; shown only now"
    )
    previous_secret_until: datetime | None = Field(
        description="after a rotation, the old secret also signs until then"
    )


class WebhookPage(Page[WebhookOut]):
    pass


class WebhookCreate(Body):
    url: str = Field(min_length=1, max_length=2000, description="https://… on a public address")
    event_types: list[str] = Field(default_factory=list, max_length=len(WebhookEventType))
    description: str = Field(default="", max_length=500)
    enabled: bool = True


class WebhookUpdate(PatchBody):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=len(WebhookEventType))
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None


class Rotation(Body):
    keep_previous_for: int = Field(
        default=86400, ge=0, le=30 * 86400, description="seconds the old secret still signs"
    )


class WebhookPath(Params):
    webhook_id: _Id


class DeliveryPath(Params):
    delivery_id: _Id


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = Field(None, description="only deliveries in this state")


class DeliveryOut(BaseModel):
    id: str = Field(description="the `webhook-id` header of its requests")
    webhook_id: str
    conversation_id: str
    event_type: str
    status: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None = Field(description="while pending")
    last_status_code: int | None
    last_error: str | None
    finished_at: datetime | None


class DeliveryPage(Page[DeliveryOut]):
    pass


class AttemptOut(BaseModel):
    number: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryLogOut(DeliveryOut):
    body: str = Field(description="the request body, exactly as sent")
    attempt_log: list[AttemptOut]


def webhook_out(subscription: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        event_types=[t.value for t in subscription.event_types],
        enabled=subscription.enabled,
        description=subscription.description,
        created_at=subscription.created_at,
    )


def _with_secret(subscription: WebhookSubscription) -> WebhookWithSecret:
    return WebhookWithSecret(
        **webhook_out(subscription).model_dump(),
        secret=subscription.secret,
        previous_secret_until=subscription.previous_secret_until,
    )


def delivery_out(delivery: WebhookDelivery) -> DeliveryOut:
    pending = delivery.status is DeliveryStatus.PENDING
    return DeliveryOut(
        id=delivery.id,
        webhook_id=delivery.subscription_id,
        conversation_id=delivery.conversation_id,
        event_type=delivery.event_type.value,
        status=delivery.status.value,
        created_at=delivery.created_at,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if pending else None,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        finished_at=delivery.finished_at,
    )


def _attempt_out(attempt: DeliveryAttempt) -> AttemptOut:
    return AttemptOut(
        number=attempt.number,
        attempted_at=attempt.attempted_at,
        status_code=attempt.status_code,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )


@resource.route(
    "GET",
    "/webhooks",
    summary="List webhook subscriptions",
    scopes=READERS,
    params=Empty,
    query=PageQuery,
    body=Empty,
    response=WebhookPage,
)
async def list_webhooks(call: Call[Empty, PageQuery, Empty]) -> WebhookPage:
    """Oldest first; without their secrets."""
    found = await call.services.webhooks.list(call.tenant_id)
    items, cursor = page_of(found, lambda s: (s.created_at.isoformat(), s.id), call.query, 2)
    return WebhookPage(items=[webhook_out(s) for s in items], next_cursor=cursor)


@resource.route(
    "POST",
    "/webhooks",
    summary="Subscribe a URL to conversation events",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=WebhookCreate,
    response=WebhookWithSecret,
    status=201,
)
async def create_webhook(call: Call[Empty, Empty, WebhookCreate]) -> WebhookWithSecret:
    """The URL must be http(s) on a public address (`invalid_input` otherwise: the engine
    never calls into its operator's network); the answer carries the new secret."""
    body = call.body
    created = await call.services.webhooks.create(
        CreateWebhook(
            tenant_id=call.tenant_id,
            url=body.url,
            event_types=tuple(body.event_types),
            description=body.description,
            enabled=body.enabled,
        )
    )
    return _with_secret(created)


@resource.route(
    "GET",
    "/webhooks/{webhook_id}",
    summary="Get a webhook subscription",
    scopes=READERS,
    params=WebhookPath,
    query=Empty,
    body=Empty,
    response=WebhookOut,
)
async def get_webhook(call: Call[WebhookPath, Empty, Empty]) -> WebhookOut:
    found = await call.services.webhooks.get(call.tenant_id, SubscriptionId(call.params.webhook_id))
    return webhook_out(found)


@resource.route(
    "PATCH",
    "/webhooks/{webhook_id}",
    summary="Change a webhook subscription",
    scopes=ADMINS,
    params=WebhookPath,
    query=Empty,
    body=WebhookUpdate,
    response=WebhookOut,
)
async def update_webhook(call: Call[WebhookPath, Empty, WebhookUpdate]) -> WebhookOut:
    """Only what is given changes; a new URL is checked as on creation."""
    body = call.body
    updated = await call.services.webhooks.update(
        UpdateWebhook(
            tenant_id=call.tenant_id,
            subscription_id=SubscriptionId(call.params.webhook_id),
            url=body.url,
            event_types=None if body.event_types is None else tuple(body.event_types),
            description=body.description,
            enabled=body.enabled,
        )
    )
    return webhook_out(updated)


@resource.route(
    "DELETE",
    "/webhooks/{webhook_id}",
    summary="Delete a webhook subscription",
    scopes=ADMINS,
    params=WebhookPath,
    query=Empty,
    body=Empty,
    response=NoContent,
    status=204,
)
async def delete_webhook(call: Call[WebhookPath, Empty, Empty]) -> NoContent:
    """With its pending deliveries and its delivery log."""
    await call.services.webhooks.delete(call.tenant_id, SubscriptionId(call.params.webhook_id))
    return NoContent()


@resource.route(
    "POST",
    "/webhooks/{webhook_id}/rotate-secret",
    summary="Give a webhook subscription a new secret",
    scopes=ADMINS,
    params=WebhookPath,
    query=Empty,
    body=Rotation,
    response=WebhookWithSecret,
)
async def rotate_webhook_secret(call: Call[WebhookPath, Empty, Rotation]) -> WebhookWithSecret:
    """The old secret signs beside the new one (two `v1,` signatures) for
    `keep_previous_for` seconds, so the receiver can switch without a gap."""
    rotated = await call.services.webhooks.rotate_secret(
        RotateWebhookSecret(
            tenant_id=call.tenant_id,
            subscription_id=SubscriptionId(call.params.webhook_id),
            keep_previous_for=call.body.keep_previous_for,
        )
    )
    return _with_secret(rotated)


@resource.route(
    "GET",
    "/webhooks/{webhook_id}/deliveries",
    summary="List a subscription's deliveries",
    scopes=READERS,
    params=WebhookPath,
    query=DeliveryQuery,
    body=Empty,
    response=DeliveryPage,
)
async def list_webhook_deliveries(
    call: Call[WebhookPath, DeliveryQuery, Empty],
) -> DeliveryPage:
    """Newest first: pending, delivered and failed ones (the delivery log)."""
    after = decode_cursor(call.query.cursor, 1)
    limit = call.query.limit
    found = await call.services.webhooks.list_deliveries(
        call.tenant_id,
        subscription_id=SubscriptionId(call.params.webhook_id),
        status=call.query.status,
        limit=min(limit + 1, 100),
        before=None if after is None else DeliveryId(after[0]),
    )
    shown = list(found[:limit])
    more = len(found) > limit and bool(shown)
    cursor = encode_cursor((shown[-1].id,)) if more else None
    return DeliveryPage(items=[delivery_out(d) for d in shown], next_cursor=cursor)


@resource.route(
    "GET",
    "/webhook-deliveries/{delivery_id}",
    summary="Get a delivery with its body and every attempt",
    scopes=READERS,
    params=DeliveryPath,
    query=Empty,
    body=Empty,
    response=DeliveryLogOut,
)
async def get_webhook_delivery(call: Call[DeliveryPath, Empty, Empty]) -> DeliveryLogOut:
    log = await call.services.webhooks.get_delivery(
        call.tenant_id, DeliveryId(call.params.delivery_id)
    )
    return DeliveryLogOut(
        **delivery_out(log.delivery).model_dump(),
        body=log.delivery.body,
        attempt_log=[_attempt_out(a) for a in log.attempts],
    )


@resource.route(
    "POST",
    "/webhook-deliveries/{delivery_id}/redeliver",
    summary="Send a delivered or failed delivery again",
    scopes=ADMINS,
    params=DeliveryPath,
    query=Empty,
    body=Empty,
    response=DeliveryOut,
)
async def redeliver_webhook(call: Call[DeliveryPath, Empty, Empty]) -> DeliveryOut:
    """Due now, with the same `webhook-id` and body (receivers deduplicate on it) and a
    fresh allowance of retries; a pending one is refused (it is being retried)."""
    again = await call.services.webhooks.redeliver(
        Redeliver(tenant_id=call.tenant_id, delivery_id=DeliveryId(call.params.delivery_id))
    )
    return delivery_out(again)
