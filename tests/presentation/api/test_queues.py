"""``/queues``: list, get, create and change, through the CLI's use cases."""

from __future__ import annotations

from business.model import DEFAULT_TENANT, QueueName
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

DEFAULTS = {
    "name": "support",
    "title": "Support",
    "waiting": 0,
    "max_waiting": None,
    "offer_timeout": 20,
    "wrap_up_codes": [],
    "require_wrap_up": False,
    "skills": {},
    "last_agent_window": 86400,
    "bot": None,
    "opening_hours": None,
    "mode": "live",
    "reawaken_window": 120,
    "visitor_idle_alert": 0,
    "visitor_idle_close": 0,
    "agent_reply_reminder": 0,
    "agent_reply_reroute": False,
    "messaging_idle_hours": 24,
    "visitor_idle_alert_text": None,
    "visitor_idle_close_text": None,
}


async def test_a_read_key_lists_and_gets_queues(api: ApiClient, keys: Keys) -> None:
    listed = await api.get("/queues", keys.read)
    assert listed.status == 200
    assert listed.body == {"items": [DEFAULTS], "next_cursor": None}
    got = await api.get("/queues/support", keys.read)
    assert got.status == 200
    assert got.body == DEFAULTS


async def test_an_unknown_queue_is_404(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues/nope", keys.read)
    assert "nope" in reply.problem(404, "not_found")


async def test_an_admin_creates_a_queue_with_settings(
    api: ApiClient, keys: Keys, world: World
) -> None:
    reply = await api.post(
        "/queues",
        keys.admin,
        {
            "name": "billing",
            "title": "Billing questions",
            "max_waiting": 5,
            "offer_timeout": 45,
            "wrap_up_codes": ["paid", "refund"],
            "require_wrap_up": True,
            "skills": {"billing": 2},
            "last_agent_window": 0,
            "reawaken_window": 600,
        },
    )
    assert reply.status == 201
    expected = {
        "name": "billing",
        "title": "Billing questions",
        "waiting": 0,
        "max_waiting": 5,
        "offer_timeout": 45,
        "wrap_up_codes": ["paid", "refund"],
        "require_wrap_up": True,
        "skills": {"billing": 2},
        "last_agent_window": None,
        "bot": None,
        "opening_hours": None,
        "mode": "live",
        "reawaken_window": 600,
        "visitor_idle_alert": 0,
        "visitor_idle_close": 0,
        "agent_reply_reminder": 0,
        "agent_reply_reroute": False,
        "messaging_idle_hours": 24,
        "visitor_idle_alert_text": None,
        "visitor_idle_close_text": None,
    }
    assert reply.body == expected
    # Stored, as the CLI's `queue list` reads it.
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, QueueName("billing"))
    assert stored is not None
    assert stored.offer_timeout == 45
    assert stored.require_wrap_up
    assert stored.reawaken_window == 600
    assert (await api.get("/queues/billing", keys.read)).body == expected


async def test_a_queue_made_with_the_defaults(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/queues", keys.admin, {"name": "sales"})
    assert reply.status == 201
    assert reply.body == {**DEFAULTS, "name": "sales", "title": "Sales"}


async def test_creating_a_queue_that_exists_is_a_conflict(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/queues", keys.admin, {"name": "support"})
    assert "exists already" in reply.problem(409, "conflict")


async def test_the_business_rules_hold_over_the_api(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/queues", keys.admin, {"name": "sales", "require_wrap_up": True})
    assert "without any wrap-up codes" in reply.problem(400, "invalid_input")
    assert (await api.get("/queues/sales", keys.read)).status == 404


async def test_patch_changes_only_what_it_names(api: ApiClient, keys: Keys) -> None:
    reply = await api.patch(
        "/queues/support", keys.admin, {"offer_timeout": 30, "skills": {"french": 1}}
    )
    assert reply.status == 200
    assert reply.body == {**DEFAULTS, "offer_timeout": 30, "skills": {"french": 1}}
    reply = await api.patch("/queues/support", keys.admin, {"max_waiting": 3})
    assert reply.body == {
        **DEFAULTS,
        "offer_timeout": 30,
        "skills": {"french": 1},
        "max_waiting": 3,
    }


async def test_patch_sets_the_messaging_mode(api: ApiClient, keys: Keys) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"mode": "messaging"})
    assert reply.status == 200
    assert reply.body == {**DEFAULTS, "mode": "messaging"}
    refused = await api.patch("/queues/support", keys.admin, {"mode": "async"})
    assert "mode" in refused.problem(400, "invalid_input")


async def test_patch_null_means_the_default_where_that_has_a_meaning(
    api: ApiClient, keys: Keys
) -> None:
    await api.patch("/queues/support", keys.admin, {"max_waiting": 3, "last_agent_window": 60})
    reply = await api.patch(
        "/queues/support", keys.admin, {"max_waiting": None, "last_agent_window": None}
    )
    assert reply.status == 200
    assert reply.body["max_waiting"] is None
    assert reply.body["last_agent_window"] is None
    refused = await api.patch("/queues/support", keys.admin, {"offer_timeout": None})
    assert "not null" in refused.problem(400, "invalid_input")
    empty = await api.patch("/queues/support", keys.admin, {})
    assert "at least one" in empty.problem(400, "invalid_input")


async def test_patch_of_an_unknown_queue_is_404(api: ApiClient, keys: Keys) -> None:
    reply = await api.patch("/queues/nope", keys.admin, {"offer_timeout": 30})
    reply.problem(404, "not_found")


async def test_queues_come_in_pages(api: ApiClient, keys: Keys) -> None:
    for name in ("a1", "b2", "c3", "d4"):
        assert (await api.post("/queues", keys.admin, {"name": name})).status == 201
    names = [q["name"] for q in await api.all_items("/queues", keys.read, limit=2)]
    assert names == ["a1", "b2", "c3", "d4", "support"]
    first = await api.get("/queues", keys.read, params={"limit": "2"})
    # A queue added before the cursor's place does not shift the next page.
    assert (await api.post("/queues", keys.admin, {"name": "a0"})).status == 201
    second = await api.get(
        "/queues", keys.read, params={"limit": "2", "cursor": first.body["next_cursor"]}
    )
    assert [q["name"] for q in second.body["items"]] == ["c3", "d4"]


async def test_patch_sets_the_reawaken_window_and_refuses_a_bad_one(
    api: ApiClient, keys: Keys
) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"reawaken_window": 0})
    assert reply.status == 200
    assert reply.body == {**DEFAULTS, "reawaken_window": 0}
    for bad in (-1, 604801):
        refused = await api.patch("/queues/support", keys.admin, {"reawaken_window": bad})
        assert "reawaken_window" in refused.problem(400, "invalid_input")
    assert (await api.get("/queues/support", keys.read)).body == {**DEFAULTS, "reawaken_window": 0}
