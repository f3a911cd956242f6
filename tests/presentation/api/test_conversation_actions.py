"""``POST /conversations/{id}/messages``, ``/end`` and ``/transfer``: an integrator or an
external bot acting in a conversation, through a real app over SQLite and PostgreSQL;
what it does reaches the visitor's socket and the agents as any message or end does."""

from __future__ import annotations

import asyncio

from business.events import MessagePosted, Transferred
from business.model import (
    DEFAULT_TENANT,
    ConversationId,
    ConversationState,
    ParticipantKind,
    QueueName,
)
from tests.harness import World
from tests.presentation.api.chats import ALICE, BOB, BOB_ADDRESS, bob, chat, waiting_chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import Server, ready_agent
from tests.visitor_client import Visitor

HELPER = {"kind": "bot", "name": "Helper", "id": "helper-7"}


async def _stored_messages(world: World, conversation_id: str) -> list[MessagePosted]:
    stored = await world.history.history(ConversationId(conversation_id))
    return [e for e in stored if isinstance(e, MessagePosted)]


async def test_a_bot_writes_once_however_often_it_retries(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    body = {"client_msg_id": "bot-1", "sender": HELPER, "text": "Your parcel left today."}
    first = await api.post(f"/conversations/{conv.id}/messages", keys.bot, body)
    assert first.status == 201, first.body
    message = first.body
    assert message["type"] == "message"
    assert message["from"] == HELPER
    assert message["text"] == "Your parcel left today."
    assert message["client_msg_id"] == "bot-1"
    assert message["seq"] == conv.last_seq + 1
    assert message["quick_replies"] == []

    # Retries, one after the other and several at once: the same message, stored once.
    again = await api.post(f"/conversations/{conv.id}/messages", keys.bot, body)
    assert (again.status, again.body) == (200, message)
    together = await asyncio.gather(
        *(api.post(f"/conversations/{conv.id}/messages", keys.admin, body) for _ in range(3))
    )
    assert [(r.status, r.body) for r in together] == [(200, message)] * 3
    bots = [m for m in await _stored_messages(world, conv.id) if m.client_msg_id == "bot-1"]
    assert len(bots) == 1
    assert bots[0].sender.kind is ParticipantKind.BOT
    assert bots[0].sender.id == "helper-7"
    details = await api.get(f"/conversations/{conv.id}", keys.read)
    assert details.body["counts"]["bot"] == 1
    published = [e for e in world.published(conv.id) if isinstance(e, MessagePosted)]
    assert [e.text for e in published].count("Your parcel left today.") == 1


async def test_the_visitor_gets_the_bots_message_on_their_socket(
    api: ApiClient, keys: Keys, world: World, visitor: Visitor
) -> None:
    await ready_agent(world)
    conversation_id = await visitor.start("Where is my parcel?")
    await visitor.drain()
    body = {"client_msg_id": "sys-1", "sender": {"kind": "system", "name": "Shop"}, "text": "Hi"}
    reply = await api.post(f"/conversations/{conversation_id}/messages", keys.admin, body)
    assert reply.status == 201, reply.body
    event = await visitor.event_of_type("message")
    assert event["from"] == {"kind": "system", "name": "Shop"}
    assert event["text"] == "Hi"
    assert event["seq"] == reply.body["seq"]


async def test_a_message_with_an_attachment_and_no_text(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    body = {
        "client_msg_id": "file-1",
        "sender": HELPER,
        "attachments": ["https://files.example/label.pdf"],
    }
    reply = await api.post(f"/conversations/{conv.id}/messages", keys.bot, body)
    assert reply.status == 201, reply.body
    assert reply.body["attachments"] == ["https://files.example/label.pdf"]
    assert reply.body["text"] == ""


async def test_a_bots_message_with_quick_replies_reaches_the_visitor(
    api: ApiClient, keys: Keys, world: World, visitor: Visitor
) -> None:
    await ready_agent(world)
    conversation_id = await visitor.start("Can I change my order?")
    await visitor.drain()
    replies = [{"id": "yes", "label": "Yes, change it"}, {"id": "keep", "label": "No, keep it"}]
    body = {"client_msg_id": "q-1", "sender": HELPER, "text": "Change?", "quick_replies": replies}
    reply = await api.post(f"/conversations/{conversation_id}/messages", keys.bot, body)
    assert reply.status == 201, reply.body
    assert reply.body["quick_replies"] == replies
    event = await visitor.event_of_type("message")
    assert event["quick_replies"] == replies
    # Only a bot offers buttons; two that read the same are refused, as in a menu.
    system = {**body, "client_msg_id": "q-2", "sender": {"kind": "system", "name": "Shop"}}
    reply = await api.post(f"/conversations/{conversation_id}/messages", keys.bot, system)
    assert "quick replies" in reply.problem(400, "invalid_input")
    twin = {"id": "yes2", "label": "yes, CHANGE it"}
    twins = {**body, "client_msg_id": "q-3", "quick_replies": [replies[0], twin]}
    reply = await api.post(f"/conversations/{conversation_id}/messages", keys.bot, twins)
    assert "another option" in reply.problem(400, "invalid_input")
    bad_id = {**body, "client_msg_id": "q-4", "quick_replies": [{"id": "Yes!", "label": "Yes"}]}
    reply = await api.post(f"/conversations/{conversation_id}/messages", keys.bot, bad_id)
    assert reply.body["errors"][0]["field"] == "quick_replies.0.id"


async def test_messages_that_cannot_be_are_refused(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    path = f"/conversations/{conv.id}/messages"
    base = {"client_msg_id": "m-1", "sender": HELPER, "text": "hi"}
    for wrong, field in [
        ({**base, "sender": {"kind": "agent", "name": "Mallory"}}, "sender.kind"),
        ({**base, "sender": {"kind": "bot", "name": ""}}, "sender.name"),
        ({**base, "client_msg_id": "has space"}, "client_msg_id"),
        ({**base, "text": 5}, "text"),
        ({k: v for k, v in base.items() if k != "sender"}, "sender"),
    ]:
        reply = await api.post(path, keys.bot, wrong)
        reply.problem(400, "invalid_input")
        assert reply.body["errors"][0]["field"] == field, wrong
    # What the business rules refuse, with their words.
    reply = await api.post(path, keys.bot, {**base, "text": "   "})
    assert "must not be empty" in reply.problem(400, "invalid_input")
    reply = await api.post(path, keys.bot, {**base, "attachments": ["ftp://x.example/a"]})
    assert "http or https" in reply.problem(400, "invalid_input")
    reply = await api.post(path, keys.bot, {**base, "text": "x" * 4001})
    reply.problem(413, "too_large")
    # The visitor's own client_msg_id is theirs.
    reply = await api.post(path, keys.bot, {**base, "client_msg_id": "first"})
    assert "already used" in reply.problem(400, "invalid_input")
    reply = await api.post(path, keys.read, base)
    reply.problem(403, "forbidden")
    reply = await api.post("/conversations/0123456789abcdef/messages", keys.bot, base)
    reply.problem(404, "not_found")
    assert [m.sender.kind for m in await _stored_messages(world, conv.id)] == [
        ParticipantKind.VISITOR,
        ParticipantKind.AGENT,
    ]


async def test_ending_with_a_reason_and_ending_again(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    posted = await api.post(
        f"/conversations/{conv.id}/messages",
        keys.bot,
        {"client_msg_id": "bye", "sender": HELPER, "text": "Goodbye!"},
    )
    reply = await api.post(
        f"/conversations/{conv.id}/end",
        keys.bot,
        {"reason": "resolved by the bot", "actor": HELPER},
    )
    assert reply.status == 200, reply.body
    assert reply.body["state"] == "ended"
    assert reply.body["ended_at"] is not None
    assert reply.body["agent"] == {"id": ALICE, "name": "Alice"}
    # A retry succeeds and changes nothing; so does one without a body.
    again = await api.call("POST", f"/conversations/{conv.id}/end", key=keys.admin)
    assert (again.status, again.body) == (200, reply.body)
    # Its report exists from the end on.
    report = await api.get(f"/reports/conversations/{conv.id}", keys.read)
    assert report.status == 200, report.body
    assert report.body["outcome"] == "answered"
    # The reason is the agents' and the reports': not in the visitor's transcript.
    events = (await api.get(f"/conversations/{conv.id}/internal-events", keys.admin)).body
    (wrap_up,) = [e for e in events["items"] if e["type"] == "wrap_up"]
    assert wrap_up["note"] == "resolved by the bot"
    assert wrap_up["by"] == HELPER
    transcript = (await api.get(f"/conversations/{conv.id}/transcript", keys.read)).body
    assert "resolved by the bot" not in transcript["text"]
    # A new message is refused now; the retry of an old one is still answered.
    late = {"client_msg_id": "late", "sender": HELPER, "text": "Still there?"}
    reply = await api.post(f"/conversations/{conv.id}/messages", keys.bot, late)
    reply.problem(409, "conflict")
    retry = {"client_msg_id": "bye", "sender": HELPER, "text": "Goodbye!"}
    reply = await api.post(f"/conversations/{conv.id}/messages", keys.bot, retry)
    assert (reply.status, reply.body) == (200, posted.body)


async def test_end_refuses_a_body_that_is_not_json_and_a_read_key(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    reply = await api.call(
        "POST",
        f"/conversations/{conv.id}/end",
        key=keys.admin,
        data=b"reason=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    reply.problem(415, "invalid_input")
    reply = await api.post(f"/conversations/{conv.id}/end", keys.read, {})
    reply.problem(403, "forbidden")
    assert (await world.conversations.get_conversation(conv.id)).state is ConversationState.ACTIVE


async def test_transfer_to_a_queue(api: ApiClient, keys: Keys, world: World) -> None:
    conv = await chat(world)
    reply = await api.post(
        f"/conversations/{conv.id}/transfer",
        keys.bot,
        {"queue": "sales", "note": "wants a quote", "actor": HELPER},
    )
    assert reply.status == 200, reply.body
    assert reply.body["queue"] == "sales"
    # Alice had it, so it waits for the next agent of sales (not her).
    assert reply.body["state"] == "queued"
    (transferred,) = [e for e in world.published(conv.id) if isinstance(e, Transferred)]
    assert transferred.queue == "sales"
    assert transferred.by.name == "Helper"
    left = await api.get(f"/conversations/{conv.id}/events", keys.read)
    assert {"kind": "agent", "name": "Alice", "id": ALICE} in [
        e["participant"] for e in left.body["items"] if e["type"] == "participant.left"
    ]


async def test_transfer_to_an_agent_offers_it_to_them(
    api: ApiClient, keys: Keys, world: World
) -> None:
    conv = await chat(world)
    await bob(world)
    reply = await api.post(
        f"/conversations/{conv.id}/transfer",
        keys.admin,
        {"agent_address": BOB_ADDRESS, "note": "billing question"},
    )
    assert reply.status == 200, reply.body
    assert reply.body["state"] == "active"
    assert reply.body["agent"]["id"] == ALICE
    assert reply.body["members"] == [{"agent_id": BOB, "name": "Bob", "role": "offered"}]
    internal = (await api.get(f"/conversations/{conv.id}/internal-events", keys.admin)).body
    (offer,) = [
        e for e in internal["items"] if e["type"] == "offer.made" and e["kind"] == "transfer"
    ]
    assert offer["note"] == "billing question"
    assert offer["by"] == {"kind": "system", "name": "System", "id": None}
    # Offered already: a conflict, said as such.
    again = await api.post(
        f"/conversations/{conv.id}/transfer", keys.admin, {"agent_address": BOB_ADDRESS}
    )
    assert "Bob" in again.problem(409, "conflict")


async def test_transfers_that_cannot_be(api: ApiClient, keys: Keys, world: World) -> None:
    conv = await chat(world)
    path = f"/conversations/{conv.id}/transfer"
    for body in ({}, {"queue": "sales", "agent_address": BOB_ADDRESS}, {"queue": None}):
        reply = await api.post(path, keys.admin, body)
        reply.problem(400, "invalid_input")
    reply = await api.call("POST", path, key=keys.admin)
    reply.problem(415, "invalid_input")
    reply = await api.post(path, keys.admin, {"queue": "nowhere"})
    assert "nowhere" in reply.problem(404, "not_found")
    reply = await api.post(path, keys.admin, {"agent_address": "nobody@agents.example"})
    reply.problem(404, "not_found")
    await bob(world, ready=False)
    reply = await api.post(path, keys.admin, {"agent_address": BOB_ADDRESS})
    assert "not ready" in reply.problem(409, "conflict")
    reply = await api.post(path, keys.read, {"queue": "sales"})
    reply.problem(403, "forbidden")
    await api.post(f"/conversations/{conv.id}/end", keys.admin, {})
    reply = await api.post(path, keys.admin, {"queue": "sales"})
    assert "ended" in reply.problem(409, "conflict")


async def test_an_external_bot_writes_in_a_chat_of_a_bot_first_queue(
    api: ApiClient, keys: Keys, world: World
) -> None:
    reply = await api.patch("/queues/support", keys.admin, {"bot": {"name": "Ava"}})
    assert reply.status == 200, reply.body
    conv = await waiting_chat(world, DEFAULT_TENANT)
    assert conv.state is ConversationState.BOT
    said = await api.post(
        f"/conversations/{conv.id}/messages",
        keys.bot,
        {"client_msg_id": "ext-1", "sender": HELPER, "text": "Let me find someone for you."},
    )
    assert said.status == 201, said.body
    events = (await api.get(f"/conversations/{conv.id}/events", keys.bot)).body["items"]
    senders = [(e["from"]["name"], e["text"]) for e in events if e["type"] == "message"]
    assert senders[-1] == ("Helper", "Let me find someone for you.")
    assert ("Ava", reply.body["bot"]["greeting"]) in senders


async def test_an_external_bot_hands_over_to_the_queue(
    api: ApiClient, keys: Keys, world: World, server: Server
) -> None:
    """A bot-first queue's chat, handed over by the bot through the API: the queue's
    agent gets it with what the bot said."""
    reply = await api.patch("/queues/support", keys.admin, {"bot": {"name": "Ava"}})
    assert reply.status == 200, reply.body
    conv = await waiting_chat(world, DEFAULT_TENANT)
    assert conv.state is ConversationState.BOT
    said = await api.post(
        f"/conversations/{conv.id}/messages",
        keys.bot,
        {"client_msg_id": "ext-1", "sender": HELPER, "text": "Let me find someone for you."},
    )
    assert said.status == 201, said.body
    await ready_agent(world)
    reply = await api.post(
        f"/conversations/{conv.id}/transfer", keys.bot, {"queue": "support", "actor": HELPER}
    )
    assert reply.status == 200, reply.body
    now = await world.conversations.get_conversation(conv.id)
    assert now.state is ConversationState.ACTIVE
    assert now.agent_name == "Alice"
    assert QueueName("support") == now.queue
