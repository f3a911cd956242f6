"""What the webhook tests in tests/business share: a world over the fakes with a
resolver table, a scripted transport and a subscription shortcut."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from business.model import DEFAULT_TENANT, TenantId
from business.webhook_commands import CreateWebhook
from business.webhook_model import WebhookDelivery, WebhookSubscription
from business.webhook_settings import WebhookSettings
from tests.fakes_webhooks import ScriptedTransport, TableResolver
from tests.harness import World, make_world

PUBLIC = "93.184.215.14"
HOSTS = {
    "hooks.example.com": [PUBLIC],
    "other.example.com": ["8.8.8.8"],
    "localhost": ["127.0.0.1", "::1"],
    "intranet.example.com": ["10.1.2.3"],
    "mixed.example.com": [PUBLIC, "192.168.1.20"],
    "metadata.example.com": ["169.254.169.254"],
}
URL = "https://hooks.example.com/chat"
OTHER = TenantId("other")


@dataclasses.dataclass
class Hooks:
    world: World
    transport: ScriptedTransport
    resolver: TableResolver
    settings: WebhookSettings

    async def subscribe(
        self,
        *event_types: str,
        tenant_id: TenantId = DEFAULT_TENANT,
        url: str = URL,
        enabled: bool = True,
    ) -> WebhookSubscription:
        return await self.world.services.webhooks.create(
            CreateWebhook(tenant_id=tenant_id, url=url, event_types=event_types, enabled=enabled)
        )

    def deliveries(self) -> list[WebhookDelivery]:
        """Every delivery stored, in the order the outbox staged them."""
        return sorted(
            self.world.fakes.webhook_deliveries.values(),
            key=lambda d: (d.created_at, d.conversation_id, d.pos, d.part, d.subscription_id),
        )

    def types(self, deliveries: Sequence[WebhookDelivery] | None = None) -> list[str]:
        return [
            d.event_type.value for d in (self.deliveries() if deliveries is None else deliveries)
        ]


async def make_hooks(**settings: object) -> Hooks:
    webhook_settings = WebhookSettings(**settings)  # type: ignore[arg-type]
    transport = ScriptedTransport()
    resolver = TableResolver(HOSTS)
    world = await make_world(
        webhooks=webhook_settings,
        resolver=resolver,
        transport=transport,
        tenants={OTHER: "Other"},
    )
    return Hooks(world=world, transport=transport, resolver=resolver, settings=webhook_settings)
