"""``/redaction-settings`` through a real app over SQLite and PostgreSQL: what an
integrator puts is what the engine masks in the messages stored next."""

from __future__ import annotations

from tests.harness import World
from tests.presentation.api.chats import chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

DEFAULTS: dict[str, object] = {
    "cards": True,
    "ibans": True,
    "emails": False,
    "phones": False,
    "phone_region": None,
    "patterns": [],
}
CARD = "4111 1111 1111 1111"


async def test_settings_are_replaced_read_back_and_applied(
    api: ApiClient, keys: Keys, world: World
) -> None:
    default = await api.get("/redaction-settings", keys.admin)
    assert default.status == 200, default.body
    assert default.body == DEFAULTS

    wanted = {
        "cards": False,
        "emails": True,
        "phones": True,
        "phone_region": "DE",
        "patterns": [{"name": "order", "regex": "ORD-[0-9]{6}"}],
    }
    put = await api.call("PUT", "/redaction-settings", key=keys.admin, json=wanted)
    assert put.status == 200, put.body
    assert put.body == {**DEFAULTS, **wanted}
    assert (await api.get("/redaction-settings", keys.admin)).body == put.body

    conv = await chat(world, f"{CARD} vera@example.org 030 12345678 ORD-123456", answer=None)
    events = (await api.get(f"/conversations/{conv.id}/events", keys.read)).body["items"]
    (message,) = [e for e in events if e["type"] == "message"]
    assert message["text"] == f"{CARD} ****@*******.*** *** ******** ***-******"

    # PUT replaces the whole: what is left out takes its default.
    again = await api.call("PUT", "/redaction-settings", key=keys.admin, json={})
    assert again.body == DEFAULTS


async def test_bad_settings_are_refused_naming_the_problem(api: ApiClient, keys: Keys) -> None:
    for body, words in [
        ({"patterns": [{"name": "bad", "regex": "(["}]}, "no regular expression"),
        ({"patterns": [{"name": "any", "regex": "x*"}]}, "matches the empty text"),
        ({"patterns": [{"name": "Bad", "regex": "x"}]}, "name"),
        ({"phone_region": "Germany"}, "phone_region"),
        ({"cards": "yes"}, "cards"),
        ({"patterns": [{"name": "a", "regex": "x"}, {"name": "a", "regex": "y"}]}, "two"),
    ]:
        reply = await api.call("PUT", "/redaction-settings", key=keys.admin, json=body)
        assert words in reply.problem(400, "invalid_input"), body
    assert (await api.get("/redaction-settings", keys.admin)).body == DEFAULTS
    refused = await api.call("PUT", "/redaction-settings", key=keys.read, json={})
    assert refused.status == 403
