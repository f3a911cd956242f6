"""``/canned-responses``: list, add (or replace the text), remove."""

from __future__ import annotations

from business.model import DEFAULT_TENANT, QueueName
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_add_list_and_remove(api: ApiClient, keys: Keys, world: World) -> None:
    made = await api.post(
        "/canned-responses", keys.admin, {"name": "hello", "text": "Hello {visitor}!"}
    )
    assert made.status == 201
    assert made.body["name"] == "hello"
    assert made.body["queue"] is None
    assert made.body["text"] == "Hello {visitor}!"
    own = await api.post(
        "/canned-responses",
        keys.admin,
        {"name": "hello", "text": "Support says hi", "queue": "support"},
    )
    assert own.status == 201
    listed = await api.get("/canned-responses", keys.read)
    assert [(r["queue"], r["name"]) for r in listed.body["items"]] == [
        (None, "hello"),
        ("support", "hello"),
    ]
    # What the queue's agents get: its own wins.
    effective = await api.get("/canned-responses", keys.read, params={"queue": "support"})
    assert [r["text"] for r in effective.body["items"]] == ["Support says hi"]
    # The agent desk finds it through the same service.
    found = await world.services.canned.find(DEFAULT_TENANT, QueueName("support"), "hello")
    assert found is not None
    assert found.text == "Support says hi"

    removed = await api.delete("/canned-responses/hello", keys.admin, params={"queue": "support"})
    assert removed.status == 204
    assert removed.body is None
    listed = await api.get("/canned-responses", keys.read)
    assert [(r["queue"], r["name"]) for r in listed.body["items"]] == [(None, "hello")]


async def test_adding_again_replaces_the_text(api: ApiClient, keys: Keys) -> None:
    await api.post("/canned-responses", keys.admin, {"name": "bye", "text": "Bye"})
    again = await api.post("/canned-responses", keys.admin, {"name": "bye", "text": "Goodbye"})
    assert again.status == 201
    listed = await api.get("/canned-responses", keys.read)
    assert [r["text"] for r in listed.body["items"]] == ["Goodbye"]


async def test_removing_what_is_not_there_is_404(api: ApiClient, keys: Keys) -> None:
    reply = await api.delete("/canned-responses/nothing", keys.admin)
    reply.problem(404, "not_found")


async def test_a_response_for_an_unknown_queue_is_404(api: ApiClient, keys: Keys) -> None:
    reply = await api.post(
        "/canned-responses", keys.admin, {"name": "x", "text": "y", "queue": "nope"}
    )
    reply.problem(404, "not_found")
    listing = await api.get("/canned-responses", keys.read, params={"queue": "nope"})
    listing.problem(404, "not_found")


async def test_a_blank_text_is_400(api: ApiClient, keys: Keys) -> None:
    reply = await api.post("/canned-responses", keys.admin, {"name": "x", "text": "   "})
    reply.problem(400, "invalid_input")
