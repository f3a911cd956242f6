"""A queue's ``opening_hours`` over the REST API (real app, SQLite and PostgreSQL):
created, read, replaced and cleared through ``QueueSettingsService``, refused with the
field named when wrong, and a start of the API channel in a closed queue is 409
``queue_closed`` with ``opens_at``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from business.model import DEFAULT_TENANT, QueueName
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.api.test_channels import PATH, whatsapp

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OFFICE = {
    "timezone": "Europe/Berlin",
    "weekly": {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:30"}]},
    "closed_on": ["2026-12-25"],
}


def written_out(weekly: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, str]]]:
    return {day: weekly.get(day, []) for day in DAYS}


async def test_opening_hours_are_created_read_replaced_and_cleared(
    api: ApiClient, keys: Keys, world: World
) -> None:
    created = await api.post("/queues", keys.admin, {"name": "billing", "opening_hours": OFFICE})
    assert created.status == 201, created.body
    expected = {**OFFICE, "weekly": written_out(OFFICE["weekly"])}  # type: ignore[arg-type]
    assert created.body["opening_hours"] == expected
    assert (await api.get("/queues/billing", keys.read)).body["opening_hours"] == expected
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, QueueName("billing"))
    assert stored is not None
    assert stored.opening_hours is not None
    assert stored.opening_hours.timezone == "Europe/Berlin"

    weekend = {"timezone": "UTC", "weekly": {"sat": [{"start": "10:00", "end": "24:00"}]}}
    replaced = await api.patch("/queues/billing", keys.admin, {"opening_hours": weekend})
    assert replaced.status == 200, replaced.body
    assert replaced.body["opening_hours"]["weekly"]["sat"] == [{"start": "10:00", "end": "24:00"}]
    assert replaced.body["opening_hours"]["weekly"]["mon"] == []
    assert replaced.body["opening_hours"]["closed_on"] == []
    # Other settings leave the hours alone; null clears them.
    other = await api.patch("/queues/billing", keys.admin, {"offer_timeout": 30})
    assert other.body["opening_hours"] == replaced.body["opening_hours"]
    cleared = await api.patch("/queues/billing", keys.admin, {"opening_hours": None})
    assert cleared.body["opening_hours"] is None


async def test_bad_opening_hours_name_the_field(api: ApiClient, keys: Keys) -> None:
    unknown = {"timezone": "Mars/Olympus"}
    reply = await api.patch("/queues/support", keys.admin, {"opening_hours": unknown})
    assert "unknown time zone 'Mars/Olympus'" in reply.problem(400, "invalid_input")
    crossing = {"timezone": "UTC", "weekly": {"fri": [{"start": "22:00", "end": "06:00"}]}}
    reply = await api.patch("/queues/support", keys.admin, {"opening_hours": crossing})
    assert "opening_hours.weekly.fri[0]" in reply.problem(400, "invalid_input")
    malformed = {"timezone": "UTC", "weekly": {"fri": [{"start": "9am", "end": "17:00"}]}}
    reply = await api.patch("/queues/support", keys.admin, {"opening_hours": malformed})
    assert "opening_hours.weekly.fri.0.start" in reply.problem(400, "invalid_input")
    assert (await api.get("/queues/support", keys.read)).body["opening_hours"] is None


async def test_a_start_in_a_closed_queue_is_409_queue_closed(api: ApiClient, keys: Keys) -> None:
    # Open only tomorrow (UTC), 10:00-11:00: closed now, whatever the day.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    hours = {
        "timezone": "UTC",
        "weekly": {DAYS[tomorrow.weekday()]: [{"start": "10:00", "end": "11:00"}]},
    }
    set_ = await api.patch("/queues/support", keys.admin, {"opening_hours": hours})
    assert set_.status == 200, set_.body
    reply = await api.post(PATH, keys.bot, whatsapp())
    assert "closed now" in reply.problem(409, "queue_closed")
    opens = datetime.combine(tomorrow, time(10, 0), tzinfo=UTC)
    assert reply.body["opens_at"] == opens.isoformat().replace("+00:00", "Z")
    # Always open again: the same message starts its conversation.
    await api.patch("/queues/support", keys.admin, {"opening_hours": None})
    assert (await api.post(PATH, keys.bot, whatsapp())).status == 201
