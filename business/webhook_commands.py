"""Commands of the webhook use cases (``business.webhooks``), built by the edges."""

from __future__ import annotations

from dataclasses import dataclass

from business.model import TenantId
from business.webhook_model import DeliveryId, SubscriptionId


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateWebhook:
    tenant_id: TenantId
    url: str
    event_types: tuple[str, ...] = ()
    """Names of ``WebhookEventType``; empty: every public type."""
    description: str = ""
    enabled: bool = True
    secret: str | None = None
    """A ``whsec_`` secret of the integrator's own (moving from another system); None:
    a new random one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateWebhook:
    """Each field left None stays as it is."""

    tenant_id: TenantId
    subscription_id: SubscriptionId
    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RotateWebhookSecret:
    tenant_id: TenantId
    subscription_id: SubscriptionId
    keep_previous_for: float = 86400.0
    """Seconds the old secret still signs deliveries (beside the new one); 0: not at
    all (a leaked secret)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Redeliver:
    tenant_id: TenantId
    delivery_id: DeliveryId
