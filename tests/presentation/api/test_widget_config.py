"""``/widget-config``: read and replace the tenant's widget configuration."""

from __future__ import annotations

from typing import Any

from business.model import DEFAULT_TENANT
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

CONFIG = {
    "mode": "embedded",
    "embed_selector": "#help-chat",
    "theme": {"accent": "#AA3300"},
    "texts": {"title": "Ask Northwind"},
    "items": [{"id": "invite", "type": "invitation", "text": "Need a hand?"}],
    "triggers": [
        {
            "id": "slow-reader",
            "conditions": {"field": "time_on_page", "op": "at_least", "value": 20},
            "action": {"type": "show", "item": "invite"},
            "only_if_available": True,
        }
    ],
}


async def test_the_default_then_a_replacement(api: ApiClient, keys: Keys, world: World) -> None:
    default = await api.get("/widget-config", keys.read)
    assert default.status == 200
    assert default.body["active"] is True
    assert default.body["mode"] == "floating"
    assert default.body["language"] == "auto"
    assert default.body["triggers"] == []
    assert default.body["updated_at"] is None

    put = await api.call("PUT", "/widget-config", key=keys.admin, json=CONFIG)
    assert put.status == 200, put.body
    assert put.body["mode"] == "embedded"
    assert put.body["theme"] == {"accent": "#aa3300", "accent_text": "#ffffff"}
    assert put.body["triggers"][0]["only_if_available"] is True
    assert put.body["updated_at"] is not None
    again = await api.get("/widget-config", keys.read)
    assert again.body == put.body
    # The loader's read comes from the same store.
    stored = await world.services.widget_configs.get(DEFAULT_TENANT)
    assert stored.document["texts"] == {"title": "Ask Northwind"}


async def test_a_bad_configuration_is_refused_naming_the_problem(
    api: ApiClient, keys: Keys
) -> None:
    bad = {
        "triggers": [
            {
                "id": "t",
                "action": {"type": "show", "item": "invite"},
                "conditions": {"field": "url", "op": "at_least", "value": "x"},
            }
        ]
    }
    reply = await api.call("PUT", "/widget-config", key=keys.admin, json=bad)
    detail = reply.problem(400, "invalid_input")
    assert "triggers[0].action.item: no item 'invite'" in detail
    unknown = await api.call("PUT", "/widget-config", key=keys.admin, json={"colour": "red"})
    unknown.problem(400, "invalid_input")
    language = await api.call("PUT", "/widget-config", key=keys.admin, json={"language": "xx"})
    assert "language" in language.problem(400, "invalid_input")
    # Nothing was stored.
    assert (await api.get("/widget-config", keys.read)).body["updated_at"] is None


async def test_only_admins_change_it(api: ApiClient, keys: Keys) -> None:
    reply = await api.call("PUT", "/widget-config", key=keys.read, json={"active": False})
    reply.problem(403, "forbidden")
    assert (await api.get("/widget-config", keys.read)).body["active"] is True


async def test_items_offline_variants_through_the_api(api: ApiClient, keys: Keys) -> None:
    items: list[dict[str, Any]] = [
        {"id": "invite", "type": "invitation", "text": "Hi!", "offline": {"text": "Write to us"}},
        {"id": "button", "type": "button", "offline": "hide"},
    ]
    put = await api.call("PUT", "/widget-config", key=keys.admin, json={"items": items})
    assert put.status == 200, put.body
    assert [item["offline"] for item in put.body["items"]] == [{"text": "Write to us"}, "hide"]
    # An invitation's offline variant needs its own text.
    items[0]["offline"] = {}
    reply = await api.call("PUT", "/widget-config", key=keys.admin, json={"items": items})
    assert "items[0].offline.text: an invitation's offline variant needs a text" in (
        reply.problem(400, "invalid_input")
    )
