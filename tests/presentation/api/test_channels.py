"""``POST /channels/api/messages``: a visitor's message from another service, handed in
by the integrator's bridge, through a real app over SQLite and PostgreSQL: it starts a
routed conversation marked ``api`` (201), a retry is answered with the same (200), the
conversation resources show and filter the channel, bad input is a problem+json."""

from __future__ import annotations

from business.events import MessagePosted
from business.model import ConversationId, ParticipantKind
from tests.harness import World
from tests.presentation.api.chats import ALICE, alice, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

PATH = "/channels/api/messages"


def whatsapp(message_id: str = "wamid.1", text: str = "Is my order on its way?") -> dict[str, str]:
    return {
        "queue": "support",
        "external_id": "+447700900123",
        "provider": "whatsapp",
        "provider_message_id": message_id,
        "text": text,
        "name": "Priya",
        "email": "priya@example.com",
    }


async def test_a_provider_message_starts_a_routed_conversation_once(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await alice(world)
    first = await api.post(PATH, keys.bot, whatsapp())
    assert first.status == 201, first.body
    conv = first.body["conversation"]
    assert conv["channel"] == "api"
    assert conv["provider"] == "whatsapp"
    assert conv["external_id"] == "+447700900123"
    assert conv["state"] == "active"
    assert conv["agent"]["id"] == ALICE
    assert conv["visitor"]["name"] == "Priya"
    assert conv["form"] == {"name": "Priya", "email": "priya@example.com"}
    message = first.body["message"]
    assert message["from"]["kind"] == "visitor"
    assert message["text"] == "Is my order on its way?"
    assert message["client_msg_id"] == "api:wamid.1"

    again = await api.post(PATH, keys.admin, whatsapp())
    assert again.status == 200, again.body
    assert again.body["message"] == message
    assert again.body["conversation"]["id"] == conv["id"]
    stored = await world.history.history(ConversationId(conv["id"]))
    said = [e for e in stored if isinstance(e, MessagePosted)]
    assert [m.sender.kind for m in said] == [ParticipantKind.VISITOR]

    # The next message of the same visitor goes to the same conversation.
    later = await api.post(PATH, keys.bot, whatsapp("wamid.2", "Order 1234"))
    assert later.status == 201, later.body
    assert later.body["conversation"]["id"] == conv["id"]
    assert later.body["message"]["seq"] > message["seq"]


async def test_the_conversations_show_and_filter_the_channel(
    api: ApiClient, keys: Keys, world: World
) -> None:
    web = await chat(world)
    posted = await api.post(PATH, keys.bot, whatsapp())
    api_id = posted.body["conversation"]["id"]

    details = await api.get(f"/conversations/{api_id}", keys.read)
    assert details.body["channel"] == "api"
    assert details.body["provider"] == "whatsapp"
    assert (await api.get(f"/conversations/{web.id}", keys.read)).body["channel"] == "web"
    only_api = await api.get("/conversations", keys.read, params={"channel": "api"})
    assert [c["id"] for c in only_api.body["items"]] == [api_id]
    only_web = await api.get("/conversations", keys.read, params={"channel": "web"})
    assert [c["id"] for c in only_web.body["items"]] == [web.id]
    bad = await api.get("/conversations", keys.read, params={"channel": "sms"})
    bad.problem(400, "invalid_input")


async def test_bad_input_is_a_clear_problem(api: ApiClient, keys: Keys, world: World) -> None:
    cases = [
        ({"text": "   "}, 400, "invalid_input", "text must not be empty"),
        ({"text": "x" * 4001}, 413, "too_large", "longer than"),
        ({"queue": "nowhere"}, 404, "not_found", "unknown queue"),
        ({"provider": "WhatsApp"}, 400, "invalid_input", "provider"),
        ({"external_id": ""}, 400, "invalid_input", "external_id"),
        ({"provider_message_id": "é"}, 400, "invalid_input", "provider_message_id"),
        ({"email": "nobody"}, 400, "invalid_input", "e-mail"),
    ]
    for change, status, code, words in cases:
        reply = await api.post(PATH, keys.bot, whatsapp() | change)
        detail = reply.problem(status, code)
        assert words in detail or words in str(reply.body), (change, reply.body)
    # A reader may not hand messages in.
    (await api.post(PATH, keys.read, whatsapp())).problem(403, "forbidden")
    listed = await api.get("/conversations", keys.read, params={"channel": "api"})
    assert listed.body["items"] == []
