"""A queue's inactivity rules over the REST API (real app, SQLite and PostgreSQL): read
in minutes (hours for messaging), changed with PATCH, refused with the reason."""

from __future__ import annotations

from business.model import DEFAULT_TENANT, QueueName
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_inactivity_rules_are_read_and_changed_in_minutes(
    api: ApiClient, keys: Keys, world: World
) -> None:
    before = (await api.get("/queues/support", keys.read)).body
    assert before["visitor_idle_alert"] == 0
    assert before["messaging_idle_hours"] == 24
    changed = await api.patch(
        "/queues/support",
        keys.admin,
        {
            "visitor_idle_alert": 5,
            "visitor_idle_close": 2,
            "agent_reply_reminder": 3,
            "agent_reply_reroute": True,
            "messaging_idle_hours": 12,
        },
    )
    assert changed.status == 200, changed.body
    assert changed.body["visitor_idle_alert"] == 5
    assert changed.body["agent_reply_reroute"] is True
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, QueueName("support"))
    assert stored is not None
    assert (stored.visitor_idle_alert, stored.visitor_idle_close) == (300, 120)
    assert (stored.agent_reply_reminder, stored.messaging_idle) == (180, 12 * 3600)
    # Other settings leave them alone.
    other = await api.patch("/queues/support", keys.admin, {"offer_timeout": 30})
    assert other.body["agent_reply_reminder"] == 3


async def test_bad_inactivity_rules_are_refused(api: ApiClient, keys: Keys) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"visitor_idle_close": 5})
    assert "visitor_idle_close needs visitor_idle_alert" in reply.problem(400, "invalid_input")
    reply = await api.patch("/queues/support", keys.admin, {"agent_reply_reminder": -1})
    assert reply.status == 400


async def test_own_inactivity_texts_are_read_changed_and_reset(
    api: ApiClient, keys: Keys, world: World
) -> None:
    before = (await api.get("/queues/support", keys.read)).body
    assert before["visitor_idle_alert_text"] is None
    assert before["visitor_idle_close_text"] is None
    changed = await api.patch(
        "/queues/support",
        keys.admin,
        {"visitor_idle_alert_text": "Still there?", "visitor_idle_close_text": "Bye!"},
    )
    assert changed.status == 200, changed.body
    assert changed.body["visitor_idle_alert_text"] == "Still there?"
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, QueueName("support"))
    assert stored is not None
    assert (stored.visitor_idle_alert_text, stored.visitor_idle_close_text) == (
        "Still there?",
        "Bye!",
    )
    # null, like "", goes back to the built-in text; the other text stays.
    reset = await api.patch("/queues/support", keys.admin, {"visitor_idle_alert_text": None})
    assert reset.status == 200, reset.body
    assert reset.body["visitor_idle_alert_text"] is None
    assert reset.body["visitor_idle_close_text"] == "Bye!"
    reset = await api.patch("/queues/support", keys.admin, {"visitor_idle_close_text": ""})
    assert reset.body["visitor_idle_close_text"] is None
    listed = (await api.get("/queues", keys.read)).body["items"]
    assert [q["visitor_idle_alert_text"] for q in listed if q["name"] == "support"] == [None]


async def test_bad_inactivity_texts_are_refused(api: ApiClient, keys: Keys) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"visitor_idle_alert_text": " \n"})
    assert "visitor_idle_alert_text must not be blank" in reply.problem(400, "invalid_input")
    reply = await api.patch("/queues/support", keys.admin, {"visitor_idle_close_text": "x" * 1001})
    assert "at most 1000 characters" in reply.problem(400, "invalid_input")
    reply = await api.patch("/queues/support", keys.admin, {"visitor_idle_close_text": 5})
    assert reply.status == 400
