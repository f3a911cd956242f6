"""The widget configuration: its validation (``business.widget_config``) and the service
that stores it and answers "are agents available" (``WidgetConfigService``), on the
fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, QueueName, TenantId
from business.ports import UnitOfWorkFactory
from business.widget_config import (
    DEFAULT_DOCUMENT,
    DEFAULT_TRIGGER_ID,
    effective_document,
    validate_document,
)
from tests.harness import SALES, World, make_world

INVITATION: dict[str, Any] = {
    "items": [{"id": "invite", "type": "invitation", "text": "Need help choosing?"}],
    "triggers": [
        {
            "id": "product-pages",
            "conditions": {
                "all": [
                    {"field": "url", "op": "matches", "value": "*/demo*"},
                    {"field": "time_on_page", "op": "at_least", "value": 5},
                    {"not": {"field": "device", "op": "equals", "value": "mobile"}},
                    {"any": [{"field": "var.cart", "op": "at_least", "value": 1}]},
                ]
            },
            "action": {"type": "show", "item": "invite"},
            "only_if_available": True,
            "queue": "support",
        }
    ],
}


# -- validation --------------------------------------------------------------------------


def test_an_empty_document_is_the_default() -> None:
    assert validate_document({}) == DEFAULT_DOCUMENT


def test_a_full_document_is_kept_as_given_and_completed() -> None:
    doc: Any = validate_document(
        {
            **INVITATION,
            "active": False,
            "mode": "embedded",
            "embed_selector": "#help-chat",
            "theme": {"accent": "#AA0000"},
            "texts": {"title": "Ask Northwind"},
        }
    )
    assert doc["active"] is False
    assert doc["mode"] == "embedded"
    assert doc["theme"] == {"accent": "#aa0000", "accent_text": "#ffffff"}
    assert doc["texts"] == {"title": "Ask Northwind"}
    assert doc["items"] == [
        {"id": "invite", "type": "invitation", "text": "Need help choosing?", "offline": None}
    ]
    (trigger,) = doc["triggers"]
    assert trigger["conditions"] == INVITATION["triggers"][0]["conditions"]
    assert trigger["only_if_available"] is True
    # What is stored survives a JSON round trip unchanged (it is stored as JSON).
    assert json.loads(json.dumps(doc)) == doc
    assert validate_document(doc) == doc


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "widget configuration: an object"),
        ({"colour": "red"}, "widget configuration: unknown key 'colour'"),
        ({"active": "yes"}, "active: true or false"),
        ({"mode": "popup"}, "mode: one of floating, embedded"),
        ({"mode": "embedded"}, "embed_selector: required in embedded mode"),
        ({"theme": {"accent": "red"}}, "theme.accent: a colour like #3b5bdb"),
        ({"texts": {"title": " "}}, "texts.title: a text that is not blank"),
        ({"texts": {"footer": "x"}}, "texts: unknown key 'footer'"),
        ({"items": [{"id": "a", "type": "invitation"}]}, "items[0].text: an invitation needs"),
        ({"items": [{"id": "A b", "type": "button"}]}, "items[0].id: 1 to 40 lower-case"),
        (
            {"items": [{"id": "a", "type": "button"}, {"id": "a", "type": "button"}]},
            "items: the id 'a' is used twice",
        ),
        ({"triggers": [{"id": "t"}]}, "triggers[0].action: required"),
        (
            {"triggers": [{"id": "t", "action": {"type": "show", "item": "nope"}}]},
            "triggers[0].action.item: no item 'nope'",
        ),
        (
            {"triggers": [{"id": "t", "action": {"type": "open", "item": "button"}}]},
            "triggers[0].action.item: only 'show' takes an item",
        ),
        (
            {
                "triggers": [
                    {
                        "id": "t",
                        "action": {"type": "open"},
                        "conditions": {"all": [{"field": "url", "op": "at_least", "value": 1}]},
                    }
                ]
            },
            "triggers[0].conditions.all[0].op: one of equals, contains, matches",
        ),
        (
            {
                "triggers": [
                    {
                        "id": "t",
                        "action": {"type": "open"},
                        "conditions": {"field": "time_on_page", "op": "at_least", "value": "5"},
                    }
                ]
            },
            "triggers[0].conditions.value: a number",
        ),
        (
            {
                "triggers": [
                    {
                        "id": "t",
                        "action": {"type": "open"},
                        "conditions": {"field": "cookie", "op": "equals", "value": "x"},
                    }
                ]
            },
            "triggers[0].conditions.field: one of url, title",
        ),
        (
            {
                "triggers": [
                    {
                        "id": "t",
                        "action": {"type": "open"},
                        "conditions": {"field": "device", "op": "equals", "value": "watch"},
                    }
                ]
            },
            "triggers[0].conditions.value: one of desktop, tablet, mobile",
        ),
        (
            {"triggers": [{"id": "t", "action": {"type": "open"}, "conditions": {"all": []}}]},
            "triggers[0].conditions.all: at least one condition",
        ),
        (
            {
                "triggers": [
                    {"id": "t", "action": {"type": "open"}, "queue": "Not A Queue"},
                ]
            },
            "triggers[0].queue: a queue name",
        ),
        (
            {"items": [{"id": "button", "type": "invitation", "text": "On every page?"}]},
            "items[0].type: the item 'button' is the default button, of type 'button'",
        ),
        (
            {"items": [{"id": "a", "type": "invitation", "text": "Hi", "offline": {}}]},
            "items[0].offline.text: an invitation's offline variant needs a text",
        ),
        (
            {"items": [{"id": "a", "type": "button", "offline": "show"}]},
            "items[0].offline: null, 'hide' or an object like {'text': ...}",
        ),
        (
            {"items": [{"id": "a", "type": "button", "offline": {"label": "x"}}]},
            "items[0].offline: unknown key 'label' (expected text)",
        ),
        (
            {"items": [{"id": "a", "type": "button", "offline": {"text": " "}}]},
            "items[0].offline.text: a text that is not blank",
        ),
    ],
)
def test_a_bad_document_is_refused_naming_where(document: object, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_document(document)
    assert str(raised.value).startswith(message), str(raised.value)


def test_conditions_nest_only_so_deep() -> None:
    condition: dict[str, Any] = {"field": "url", "op": "contains", "value": "x"}
    for _ in range(6):
        condition = {"not": condition}
    with pytest.raises(InvalidInput, match="nest at most 5 deep"):
        validate_document(
            {"triggers": [{"id": "t", "action": {"type": "open"}, "conditions": condition}]}
        )


def test_a_pattern_has_at_most_eight_wildcards() -> None:
    def trigger(field: str, pattern: str) -> dict[str, Any]:
        leaf = {"field": field, "op": "matches", "value": pattern}
        return {"triggers": [{"id": "t", "action": {"type": "open"}, "conditions": leaf}]}

    validate_document(trigger("url", "*/" * 8))
    for field in ("url", "var.page"):
        with pytest.raises(InvalidInput) as raised:
            validate_document(trigger(field, "*/" * 9))
        assert str(raised.value) == "triggers[0].conditions.value: at most 8 '*' in a pattern"
    # Only a pattern counts its stars: equals and contains take them literally.
    leaf = {"field": "url", "op": "contains", "value": "*" * 20}
    validate_document({"triggers": [{"id": "t", "action": {"type": "open"}, "conditions": leaf}]})


def test_the_default_trigger_is_added_unless_one_holds_everywhere() -> None:
    effective: Any = effective_document(validate_document(INVITATION))
    ids = [t["id"] for t in effective["triggers"]]
    assert ids == ["product-pages", DEFAULT_TRIGGER_ID]
    assert [i["id"] for i in effective["items"]] == ["invite", "button"]

    everywhere = validate_document(
        {"triggers": [{"id": "always", "action": {"type": "open"}}]},
    )
    ids = [t["id"] for t in _triggers(everywhere)]
    assert ids == ["always"]
    # A trigger that needs agents does not hold everywhere: the default still follows.
    gated = validate_document(
        {"triggers": [{"id": "gated", "action": {"type": "open"}, "only_if_available": True}]},
    )
    ids = [t["id"] for t in _triggers(gated)]
    assert ids == ["gated", DEFAULT_TRIGGER_ID]


def _triggers(document: dict[str, Any]) -> Any:
    return effective_document(document)["triggers"]


# -- the service ---------------------------------------------------------------------------


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory, tenants={TenantId("acme"): "Acme"})


async def test_a_tenant_without_a_configuration_gets_the_default(world: World) -> None:
    config = await world.services.widget_configs.get(DEFAULT_TENANT)
    assert config.document == DEFAULT_DOCUMENT
    assert config.updated_at is None


async def test_a_stored_configuration_is_the_tenants_own(world: World) -> None:
    stored = await world.services.widget_configs.put(
        DEFAULT_TENANT, {**INVITATION, "active": False}
    )
    assert stored.updated_at is not None
    got = await world.services.widget_configs.get(DEFAULT_TENANT)
    assert got.document == stored.document
    assert got.document["active"] is False
    # Another tenant still has the default, and replacing keeps one configuration.
    assert (await world.services.widget_configs.get(TenantId("acme"))).document == DEFAULT_DOCUMENT
    await world.services.widget_configs.put(DEFAULT_TENANT, {"mode": "floating"})
    assert (await world.services.widget_configs.get(DEFAULT_TENANT)).document == DEFAULT_DOCUMENT


async def test_an_invalid_configuration_stores_nothing(world: World) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, INVITATION)
    with pytest.raises(InvalidInput, match="mode"):
        await world.services.widget_configs.put(DEFAULT_TENANT, {"mode": "sideways"})
    got = await world.services.widget_configs.get(DEFAULT_TENANT)
    assert got.document == validate_document(INVITATION)


async def test_an_unknown_tenant_has_no_configuration(world: World) -> None:
    with pytest.raises(NotFound):
        await world.services.widget_configs.get(TenantId("nobody"))
    with pytest.raises(NotFound):
        await world.services.widget_configs.put(TenantId("nobody"), {})


async def test_availability_follows_ready_agents_and_their_spare_places(world: World) -> None:
    widget = world.services.widget_configs
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0
    agent = await world.agent(AgentId("alice@agents.example"), max_chats=1, ready=False)
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0
    await world.agent(AgentId("bob@agents.example"), queues=(SALES,), max_chats=1)
    # Ready in another queue does not answer this one.
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0
    assert await widget.availability(DEFAULT_TENANT, SALES) == 1
    await world.agents.set_availability(_ready(agent))
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 1
    # Her one place taken: nobody can answer the next visitor soon.
    await world.start(await world.visitor(), "hello")
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0
    assert await widget.availability(DEFAULT_TENANT, QueueName("nowhere")) == 0
    assert await widget.availability(TenantId("acme"), DEFAULT_QUEUE) == 0


async def test_an_offered_chat_is_not_counted_twice(world: World) -> None:
    # Offered, the chat stays queued and takes one of the agent's places: it must not
    # also count as a visitor waiting for the place that is still free.
    widget = world.services.widget_configs
    await world.agent(AgentId("alice@agents.example"), max_chats=2, auto_accept=False)
    first = await world.start(await world.visitor(), "hello")
    async with world.uow() as uow:
        offered = await uow.conversations.get(first.id)
    assert offered is not None
    assert offered.offered_to == AgentId("alice@agents.example")
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 1
    await world.start(await world.visitor(), "me too")
    assert await widget.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0


def _ready(agent: AgentId) -> c.SetAgentAvailability:
    return c.SetAgentAvailability(agent_id=agent, ready=True)


def test_an_item_has_an_offline_variant_none_by_default() -> None:
    doc: Any = validate_document(
        {
            "items": [
                {"id": "plain", "type": "button", "text": "Chat"},
                {"id": "gone", "type": "button", "offline": "hide"},
                {"id": "button", "type": "button", "offline": {}},
                {
                    "id": "invite",
                    "type": "invitation",
                    "text": "Questions?",
                    "offline": {"text": "Leave us a message"},
                },
            ]
        }
    )
    offline = {item["id"]: item["offline"] for item in doc["items"]}
    # None: the item as it is whatever the availability (documents from before keep
    # working as they did); a button's offline variant may keep its label.
    assert offline == {
        "plain": None,
        "gone": "hide",
        "button": {"text": None},
        "invite": {"text": "Leave us a message"},
    }
    assert validate_document(doc) == doc
    # The default button the engine adds has none either.
    (default,) = [i for i in effective_document(validate_document({}))["items"]]  # type: ignore[union-attr]
    assert default == {"id": "button", "type": "button", "text": None, "offline": None}
