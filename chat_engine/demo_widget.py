"""The demo tenant's widget configuration for ``make run``: an invitation on the demo
shop's product page, shown after a few seconds there when an agent can answer."""

from __future__ import annotations

from typing import Any, Final

from business.model import DEFAULT_TENANT
from chat_engine.admin import put_widget_config, widget_config
from chat_engine.settings import Settings

DEMO_WIDGET: Final[dict[str, Any]] = {
    "texts": {"title": "Northwind Coffee"},
    "items": [
        {
            "id": "grinder-help",
            "type": "invitation",
            "text": "Questions about the Burr Grinder Pro? We're online and happy to help.",
        }
    ],
    "triggers": [
        {
            "id": "product-page",
            "conditions": {
                "all": [
                    {"field": "url", "op": "matches", "value": "*/demo"},
                    {"field": "time_on_page", "op": "at_least", "value": 5},
                ]
            },
            "action": {"type": "show", "item": "grinder-help"},
            "only_if_available": True,
            "queue": "support",
        }
    ],
}


async def ensure_demo_widget(settings: Settings) -> bool:
    """Store ``DEMO_WIDGET`` for the default tenant unless it has a configuration of its
    own (one set with ``chat-engine widget set`` is never overwritten); whether it did."""
    if (await widget_config(settings, DEFAULT_TENANT)).updated_at is not None:
        return False
    await put_widget_config(settings, DEFAULT_TENANT, DEMO_WIDGET)
    return True
