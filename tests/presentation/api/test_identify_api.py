"""``visitor.identify`` on the real engine (python-socketio client, SQLite and
PostgreSQL): the ack, the chat that goes on, what the REST API shows after it, and the
refusals (bad values, a ``sub``, a signed identity's own values)."""

from __future__ import annotations

import jwt

from business.identity_model import IdentityMode
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import VisitorFactory, ready_agent
from tests.presentation.test_identity_socket import SECRET, claims, configure


async def test_identify_mid_chat_is_acked_stored_and_shown_by_the_api(
    world: World, new_visitor: VisitorFactory, api: ApiClient, keys: Keys
) -> None:
    alice = await ready_agent(world)
    visitor = new_visitor()
    await visitor.connect({"tenant": "default"})
    conversation_id = await visitor.start("Hello?")
    ack = await visitor.ok(
        "visitor.identify",
        {
            "name": "Ann Lee",
            "email": "ann@example.com",
            "avatar": "https://cdn.example/ann.png",
            "extra": {"plan": "pro", "seats": 3, "vip": True},
        },
    )
    assert ack == {
        "ok": True,
        "changed": ["name", "email", "avatar", "plan", "seats", "vip"],
        "conversations": 1,
    }
    # The same values again: nothing new, nobody told.
    again = await visitor.ok("visitor.identify", {"name": "Ann Lee"})
    assert again["changed"] == []
    assert again["conversations"] == 0

    # The chat goes on, the same conversation, under the new name.
    said = await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m2", "text": "Still there?"},
    )
    assert said["message"]["seq"] > 0

    visitor_id = visitor.session["visitor_id"]
    shown = await api.get(f"/visitors/{visitor_id}", keys.read)
    assert shown.status == 200
    assert shown.body["name"] == "Ann Lee"
    assert shown.body["identity"] is None  # no signed identity: identify() adds no sub
    conv = await api.get(f"/conversations/{conversation_id}", keys.read)
    assert conv.status == 200, conv.body
    assert conv.body["agent"]["id"] == alice
    assert conv.body["state"] == "active"
    assert conv.body["visitor"]["name"] == "Ann Lee"
    assert conv.body["context"]["custom"] == {
        "email": "ann@example.com",
        "avatar": "https://cdn.example/ann.png",
        "plan": "pro",
        "seats": "3",
        "vip": "true",
    }
    internal = await api.get(f"/conversations/{conversation_id}/internal-events", keys.admin)
    assert internal.status == 200, internal.body
    (notice,) = [e for e in internal.body["items"] if e["type"] == "visitor.identified"]
    assert notice["visitor"]["name"] == "Ann Lee"
    assert notice["changes"] == {
        "name": "Ann Lee",
        "email": "ann@example.com",
        "avatar": "https://cdn.example/ann.png",
        "plan": "pro",
        "seats": "3",
        "vip": "true",
    }
    messages = [e for e in internal.body["items"] if e["type"] == "message"]
    assert messages[-1]["text"] == "Still there?"
    assert messages[-1]["from"]["name"] == "Ann Lee"


async def test_bad_values_and_a_sub_are_refused_with_invalid_input(
    world: World, new_visitor: VisitorFactory
) -> None:
    visitor = new_visitor()
    await visitor.connect({"tenant": "default"})
    for payload, words in [
        ({"sub": "customer-1"}, "cannot change who the visitor is"),
        ({"name": "Ann", "token": "eyJ"}, "cannot change who the visitor is"),
        ({"nickname": "Ann"}, "not nickname"),
        ({"email": "nope"}, "e-mail"),
        ({"avatar": "data:image/png;base64,AAAA"}, "http or https URL"),
        ({"extra": ["plan"]}, "extra must be a JSON object"),
        ({"name": 7}, "name must be a string"),
        ("Ann", "payload must be a JSON object"),
    ]:
        reply = await visitor.call("visitor.identify", payload)
        assert reply["ok"] is False, payload
        assert reply["error"]["code"] == "invalid_input", reply
        assert words in reply["error"]["message"], reply


async def test_a_signed_identity_name_cannot_be_overridden(
    world: World, new_visitor: VisitorFactory
) -> None:
    await configure(world, IdentityMode.REQUIRED)
    visitor = new_visitor()
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    await visitor.connect({"tenant": "default", "identity": token})
    await visitor.start("Hi")
    refused = await visitor.call("visitor.identify", {"name": "Mallory"})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "forbidden"
    assert "signed identity" in refused["error"]["message"]
    # What the token does not assert may be given.
    ok = await visitor.ok("visitor.identify", {"avatar": "https://cdn.example/ada.png"})
    assert ok["changed"] == ["avatar"]
