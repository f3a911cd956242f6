"""The /visitor namespace against the real server and the real python-socketio client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Unavailable
from business.model import ConversationId
from presentation import WebSettings
from presentation.app import NAMESPACE_KEY, SIO_KEY
from tests.harness import World
from tests.presentation.conftest import Server, StartServer, VisitorFactory, ready_agent
from tests.visitor_client import Json, Visitor

# -- connecting ---------------------------------------------------------------------


async def test_a_new_visitor_gets_a_session_with_a_token(visitor: Visitor) -> None:
    session = visitor.session
    assert session["visitor_id"]
    assert len(session["visitor_token"]) >= 16
    assert session["conversations"] == []
    assert session["config"]["title"] == "Chat with us"
    assert session["config"]["max_text_length"] == 4000


async def test_a_returning_visitor_is_recognised_by_token_and_sees_their_conversations(
    visitor: Visitor, new_visitor: VisitorFactory, world: World
) -> None:
    conversation_id = await visitor.start("Hi")
    agent = await ready_agent(world)
    await world.agent_says(agent, conversation_id, "Hello!")
    await visitor.disconnect()

    again = new_visitor()
    session = await again.connect({"tenant": "default", "visitor_token": visitor.token})

    assert session["visitor_id"] == visitor.session["visitor_id"]
    assert session["visitor_token"] == visitor.token
    assert session["conversations"] == [
        {
            "id": conversation_id,
            "state": "active",
            "mode": "chat",
            "last_seq": 5,
            "unread": 1,
            "queue": "support",
            "locked": False,
        }
    ]


async def test_a_well_formed_but_unknown_token_starts_a_new_visitor(
    new_visitor: VisitorFactory,
) -> None:
    session = await new_visitor().connect({"tenant": "default", "visitor_token": "x" * 43})
    assert session["visitor_token"] != "x" * 43
    assert session["conversations"] == []


async def test_the_polling_transport_works_too(new_visitor: VisitorFactory) -> None:
    v = new_visitor()
    await v.connect({"tenant": "default"}, transports=["polling"])
    conversation_id = await v.start("over long polling")
    assert (await v.event_of_type("message"))["conversation_id"] == conversation_id


@pytest.mark.parametrize(
    ("auth", "code", "words"),
    [
        ({"tenant": "nope"}, "not_found", "unknown tenant"),
        ({"tenant": "default", "visitor_token": "bad token!"}, "invalid_input", "malformed"),
        ({"tenant": "default", "visitor_token": 12}, "invalid_input", "must be a string"),
        (
            {"tenant": "default", "identity": "eyJhbGciOi.x.y"},
            "identity_disabled",
            "signed identities are off for this tenant",
        ),
        ({"tenant": "default", "identity": 7}, "invalid_input", "identity must be a string"),
        ({"visitor_token": "a" * 20}, "invalid_input", "tenant is required"),
        ({"tenant": ""}, "invalid_input", "tenant must be"),
        (None, "invalid_input", "tenant is required"),
        ("default", "invalid_input", "must be a JSON object"),
        ({"tenant": "default\x00"}, "invalid_input", "tenant"),
    ],
)
async def test_refused_connects_carry_a_code_and_message(
    new_visitor: VisitorFactory, auth: object, code: str, words: str
) -> None:
    refusal = await new_visitor().refused(auth)
    assert refusal["data"]["code"] == code
    assert words in refusal["data"]["message"]
    assert refusal["message"] == refusal["data"]["message"]


# -- conversation.start -------------------------------------------------------------


async def test_start_acks_the_conversation_and_pushes_its_first_events(visitor: Visitor) -> None:
    ack = await visitor.ok(
        "conversation.start",
        {
            "queue": "support",
            "form": {"name": "Ada"},
            "context": {"page_url": "https://shop.example/p/1", "custom": {"plan": "pro"}},
            "message": {"client_msg_id": "m-1", "text": "Where is my order?"},
        },
    )
    conversation = ack["conversation"]
    assert conversation["state"] == "queued"
    assert conversation["last_seq"] == 2

    queued = await visitor.next_event()
    assert queued == {
        "conversation_id": conversation["id"],
        "seq": 1,
        "type": "state.changed",
        "created_at": queued["created_at"],
        "state": "queued",
        "queue_position": 1,
    }
    assert queued["created_at"].endswith("Z")
    message = await visitor.next_event()
    assert message["seq"] == 2
    assert message["type"] == "message"
    assert message["client_msg_id"] == "m-1"
    assert message["from"] == {"kind": "visitor", "name": "Ada"}
    assert message["text"] == "Where is my order?"
    assert message["attachments"] == []


async def test_starting_twice_returns_the_open_conversation(visitor: Visitor) -> None:
    first = await visitor.start()
    second = await visitor.start()
    assert first == second


async def test_start_in_an_unknown_queue_is_not_found(visitor: Visitor) -> None:
    ack = await visitor.call("conversation.start", {"queue": "sales"})
    assert ack["error"]["code"] == "not_found"


# -- message.send -------------------------------------------------------------------


async def test_send_acks_after_storing_and_broadcasts_the_message(visitor: Visitor) -> None:
    conversation_id = await visitor.start()
    await visitor.drain()

    ack = await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "abc-1", "text": "Hello"},
    )

    assert ack["message"]["seq"] == 2
    assert ack["message"]["created_at"].endswith("Z")
    event = await visitor.next_event()
    assert event["id"] == ack["message"]["id"]
    assert event["seq"] == 2
    assert event["text"] == "Hello"
    assert event["client_msg_id"] == "abc-1"


async def test_a_retried_send_gets_the_same_ack_one_row_and_one_broadcast(
    visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start()
    await visitor.drain()
    payload = {"conversation_id": conversation_id, "client_msg_id": "retry-1", "text": "Once"}

    first = await visitor.ok("message.send", payload)
    second = await visitor.ok("message.send", payload)

    assert first == second
    assert [e["seq"] for e in await visitor.drain()] == [2]
    stored = await world.history.history(ConversationId(conversation_id))
    assert [getattr(e, "text", None) for e in stored].count("Once") == 1


async def test_every_tab_of_a_visitor_gets_the_events(
    visitor: Visitor, new_visitor: VisitorFactory
) -> None:
    # The second tab connects before the conversation exists.
    tab = new_visitor()
    await tab.connect({"tenant": "default", "visitor_token": visitor.token})
    conversation_id = await visitor.start("from tab one")
    assert [e["type"] for e in await tab.drain()] == ["state.changed", "message"]

    await visitor.ok(
        "message.send", {"conversation_id": conversation_id, "client_msg_id": "t-2", "text": "2"}
    )
    pushed = await tab.next_event()
    assert (pushed["seq"], pushed["text"]) == (3, "2")

    # A third tab that connects now joins through the session's conversation list.
    late = new_visitor()
    await late.connect({"tenant": "default", "visitor_token": visitor.token})
    await tab.ok(
        "message.send", {"conversation_id": conversation_id, "client_msg_id": "t-3", "text": "3"}
    )
    assert (await late.next_event())["seq"] == 4
    assert [e["seq"] for e in await visitor.drain()] == [1, 2, 3, 4]


async def test_other_visitors_get_nothing(visitor: Visitor, new_visitor: VisitorFactory) -> None:
    stranger = new_visitor()
    await stranger.connect({"tenant": "default"})
    await visitor.start("private")
    assert await stranger.drain() == []


# -- agents -------------------------------------------------------------------------


async def test_agent_join_messages_and_typing_reach_the_visitor_without_the_agent_jid(
    visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Hi")
    await visitor.drain()
    agent = await ready_agent(world, "alice@agents.example", "Alice")

    joined = await visitor.next_event()
    assert joined["type"] == "participant.joined"
    assert joined["participant"] == {"kind": "agent", "name": "Alice"}
    active = await visitor.next_event()
    assert (active["type"], active["state"]) == ("state.changed", "active")
    assert "queue_position" not in active

    await world.messaging.set_agent_typing(
        c.SetAgentTyping(
            agent_id=agent, conversation_id=ConversationId(conversation_id), composing=True
        )
    )
    typing = await asyncio.wait_for(visitor.typing.get(), 5)
    assert typing == {
        "conversation_id": conversation_id,
        "from": {"kind": "agent", "name": "Alice"},
        "state": "composing",
    }

    await world.messaging.send_agent_message(
        c.SendAgentMessage(
            agent_id=agent,
            conversation_id=ConversationId(conversation_id),
            text="How can I help?",
            client_msg_id="xmpp-stanza-7",
        )
    )
    message = await visitor.next_event()
    assert message["from"] == {"kind": "agent", "name": "Alice"}
    assert message["text"] == "How can I help?"
    assert "client_msg_id" not in message
    everything = json.dumps([joined, active, typing, message])
    assert "alice@agents.example" not in everything
    assert visitor.session["visitor_id"] not in everything


async def test_the_visitor_never_gets_their_own_typing_back(
    visitor: Visitor, new_visitor: VisitorFactory
) -> None:
    tab = new_visitor()
    await tab.connect({"tenant": "default", "visitor_token": visitor.token})
    conversation_id = await visitor.start()
    assert await visitor.ok("typing", {"conversation_id": conversation_id, "state": "composing"})
    assert await visitor.ok("typing", {"conversation_id": conversation_id, "state": "paused"})
    await asyncio.sleep(0.2)
    assert visitor.typing.empty()
    assert tab.typing.empty()


# -- read, sync, context, end -------------------------------------------------------


async def test_read_acks_and_clears_the_unread_count(
    visitor: Visitor, new_visitor: VisitorFactory, world: World
) -> None:
    conversation_id = await visitor.start()
    agent = await ready_agent(world)
    await world.agent_says(agent, conversation_id, "one")
    await world.agent_says(agent, conversation_id, "two")
    last = (await visitor.drain())[-1]["seq"]

    ack = await visitor.ok("read", {"conversation_id": conversation_id, "seq": last})

    assert ack == {"ok": True}
    again = new_visitor()
    session = await again.connect({"tenant": "default", "visitor_token": visitor.token})
    assert session["conversations"][0]["unread"] == 0


async def test_sync_after_a_disconnect_returns_exactly_what_was_missed_in_order(
    visitor: Visitor, new_visitor: VisitorFactory, world: World
) -> None:
    conversation_id = await visitor.start("before")
    seen = await visitor.drain()
    last_seen = seen[-1]["seq"]
    await visitor.disconnect()

    agent = await ready_agent(world)
    await world.agent_says(agent, conversation_id, "while you were away")
    await world.agent_says(agent, conversation_id, "still there?")

    back = new_visitor()
    session = await back.connect({"tenant": "default", "visitor_token": visitor.token})
    assert session["conversations"][0]["last_seq"] == 6
    ack = await back.ok("sync", {"conversation_id": conversation_id, "after_seq": last_seen})

    assert [e["seq"] for e in ack["events"]] == [3, 4, 5, 6]
    assert [e["type"] for e in ack["events"]] == [
        "participant.joined",
        "state.changed",
        "message",
        "message",
    ]
    assert [e.get("text") for e in ack["events"][2:]] == ["while you were away", "still there?"]
    assert ack["has_more"] is False
    full = await back.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert [e["seq"] for e in full["events"]] == [1, 2, 3, 4, 5, 6]
    assert full["events"][:2] == seen


async def test_context_update_is_merged_into_the_open_conversation(
    visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start(context={"page_url": "https://shop.example/"})
    ack = await visitor.ok(
        "context.update", {"page_title": "Checkout", "custom": {"cart": "3 items"}}
    )
    assert ack == {"ok": True}
    conversation = await world.conversations.get_conversation(ConversationId(conversation_id))
    assert conversation.context.page_url == "https://shop.example/"
    assert conversation.context.page_title == "Checkout"
    assert dict(conversation.context.custom) == {"cart": "3 items"}


async def test_end_stores_and_pushes_the_end_and_later_sends_are_refused(
    visitor: Visitor,
) -> None:
    conversation_id = await visitor.start("bye soon")
    await visitor.drain()

    assert await visitor.ok("conversation.end", {"conversation_id": conversation_id}) == {
        "ok": True
    }

    left = await visitor.next_event()
    assert (left["type"], left["participant"]["kind"]) == ("participant.left", "visitor")
    ended = await visitor.next_event()
    assert (ended["type"], ended["state"]) == ("state.changed", "ended")
    ack = await visitor.call(
        "message.send", {"conversation_id": conversation_id, "client_msg_id": "late", "text": "?"}
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input"
    assert "has ended" in ack["error"]["message"]
    typing = await visitor.call("typing", {"conversation_id": conversation_id, "state": "paused"})
    assert typing["error"]["code"] == "invalid_input"
    # Ending again is harmless, so a retried end gets a plain ok.
    assert (await visitor.call("conversation.end", {"conversation_id": conversation_id}))["ok"]


# -- errors -------------------------------------------------------------------------

CID = "__conversation__"

MALFORMED: list[tuple[str, Any, str]] = [
    ("conversation.start", "hello", "payload must be a JSON object"),
    ("conversation.start", {"queue": 5}, "queue must be a string"),
    ("conversation.start", {"form": ["a"]}, "form must be a JSON object"),
    ("conversation.start", {"form": {"age": 3}}, "form.age must be a string"),
    ("conversation.start", {"context": "x"}, "context must be a JSON object"),
    ("conversation.start", {"context": {"custom": {"a": 1}}}, "context.custom.a"),
    ("conversation.start", {"message": {"text": "hi"}}, "message.client_msg_id is required"),
    ("message.send", 42, "payload must be a JSON object"),
    ("message.send", [CID, "m", "hi"], "payload must be a JSON object"),
    ("message.send", {"client_msg_id": "m", "text": "hi"}, "conversation_id is required"),
    ("message.send", {"conversation_id": CID, "text": "hi"}, "client_msg_id is required"),
    ("message.send", {"conversation_id": CID, "client_msg_id": "m"}, "text is required"),
    ("message.send", {"conversation_id": CID, "client_msg_id": "m", "text": 7}, "text must"),
    ("message.send", {"conversation_id": 7, "client_msg_id": "m", "text": "x"}, "must be a"),
    ("message.send", {"conversation_id": CID, "client_msg_id": "m", "text": " "}, "empty"),
    ("message.send", {"conversation_id": CID, "client_msg_id": "é", "text": "x"}, "ASCII"),
    (
        "message.send",
        {"conversation_id": CID, "client_msg_id": "m", "text": "x", "attachments": "u1"},
        "attachments must be a list of file ids",
    ),
    ("typing", {"conversation_id": CID}, 'state must be "composing" or "paused"'),
    ("typing", {"conversation_id": CID, "state": "active"}, "state must be"),
    ("typing", 3, "payload must be a JSON object"),
    ("read", {"conversation_id": CID}, "seq is required"),
    ("read", {"conversation_id": CID, "seq": "1"}, "seq must be an integer"),
    ("read", {"conversation_id": CID, "seq": True}, "seq must be an integer"),
    ("read", {"conversation_id": CID, "seq": 99}, "seq must be between 0 and 1"),
    ("sync", {"conversation_id": CID}, "after_seq is required"),
    ("sync", {"conversation_id": CID, "after_seq": 1.5}, "after_seq must be an integer"),
    ("sync", {"conversation_id": CID, "after_seq": -1}, "must not be negative"),
    ("context.update", "page", "payload must be a JSON object"),
    ("context.update", {"page_url": ["x"]}, "page_url must be a string"),
    ("conversation.end", {}, "conversation_id is required"),
    ("conversation.end", {"conversation_id": ""}, "conversation_id must be 1 to"),
    # PostgreSQL refuses NUL in text and neither database stores a lone surrogate: these
    # are the client's mistake (a permanent invalid_input), not an internal error that
    # a widget would retry forever.
    ("message.send", {"conversation_id": CID, "client_msg_id": "m", "text": "a\x00b"}, "text"),
    ("message.send", {"conversation_id": CID, "client_msg_id": "m", "text": "a\ud800"}, "text"),
    ("typing", {"conversation_id": CID + "\x00", "state": "paused"}, "conversation_id"),
    ("conversation.start", {"queue": "support\x00"}, "queue"),
    ("context.update", {"page_title": "\x00"}, "page_title"),
    ("context.update", {"custom": {"k\ud800": "x"}}, "custom"),
    # Past what a 64-bit column (or a JavaScript number) holds.
    ("sync", {"conversation_id": CID, "after_seq": 10**20}, "after_seq"),
    ("read", {"conversation_id": CID, "seq": -(10**20)}, "seq"),
]


@pytest.mark.parametrize(("event", "payload", "words"), MALFORMED)
async def test_malformed_payloads_are_invalid_input(
    visitor: Visitor, event: str, payload: Any, words: str
) -> None:
    conversation_id = await visitor.start()
    payload = json.loads(json.dumps(payload).replace(CID, conversation_id))

    ack = await visitor.call(event, payload)

    assert ack["ok"] is False
    assert ack["error"]["code"] == "invalid_input", ack
    assert words in ack["error"]["message"]


@pytest.mark.parametrize(
    "event",
    ["conversation.start", "message.send", "typing", "read", "sync", "context.update"],
)
async def test_a_missing_or_extra_payload_argument_is_invalid_input(
    visitor: Visitor, event: str
) -> None:
    missing = await visitor.sio.call(event, namespace="/visitor", timeout=5)
    assert missing["error"]["code"] == "invalid_input"
    extra = await visitor.sio.call(event, ({}, {}), namespace="/visitor", timeout=5)
    assert extra["error"]["code"] == "invalid_input"
    assert "exactly one payload" in extra["error"]["message"]


async def test_an_unknown_event_is_answered_with_invalid_input(visitor: Visitor) -> None:
    ack = await visitor.call("message.edit", {})
    assert ack == {
        "ok": False,
        "error": {"code": "invalid_input", "message": ack["error"]["message"]},
    }
    assert "unknown event 'message.edit'" in ack["error"]["message"]


@pytest.mark.parametrize(
    ("event", "extra"),
    [
        ("message.send", {"client_msg_id": "m", "text": "hi"}),
        ("typing", {"state": "composing"}),
        ("read", {"seq": 0}),
        ("sync", {"after_seq": 0}),
        ("conversation.end", {}),
    ],
)
async def test_unknown_and_foreign_conversations(
    visitor: Visitor, new_visitor: VisitorFactory, event: str, extra: Json
) -> None:
    unknown = await visitor.call(event, {"conversation_id": "0" * 32, **extra})
    assert unknown["error"]["code"] == "not_found"

    other = new_visitor()
    await other.connect({"tenant": "default"})
    theirs = await other.start("mine")
    foreign = await visitor.call(event, {"conversation_id": theirs, **extra})
    assert foreign["error"]["code"] == "forbidden"
    assert foreign["error"]["message"] == "this conversation belongs to another visitor"


async def test_too_long_text_is_too_large(visitor: Visitor) -> None:
    conversation_id = await visitor.start()
    ack = await visitor.call(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "big", "text": "x" * 4001},
    )
    assert ack["error"]["code"] == "too_large"
    start = await visitor.call("conversation.start", {"form": {"note": "y" * 2001}})
    assert start["error"]["code"] == "too_large"


async def test_a_flooding_socket_is_rate_limited(start_server: StartServer, world: World) -> None:
    server = await start_server(settings=WebSettings(event_burst=3, event_rate_per_second=0.01))
    v = Visitor(url=server.url)
    try:
        await v.connect({"tenant": "default"})
        conversation_id = await v.start()
        payload = {"conversation_id": conversation_id, "after_seq": 0}
        acks = [await v.call("sync", payload) for _ in range(3)]
    finally:
        await v.disconnect()
    assert [a["ok"] for a in acks] == [True, True, False]
    assert acks[-1]["error"]["code"] == "rate_limited"


async def test_a_failing_dependency_is_unavailable(
    visitor: Visitor, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = await visitor.start()

    async def down(cmd: c.SyncEvents) -> None:
        raise Unavailable("the database is not reachable")

    monkeypatch.setattr(world.history, "sync", down)
    ack = await visitor.call("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert ack == {
        "ok": False,
        "error": {"code": "unavailable", "message": "the database is not reachable"},
    }


async def test_a_bug_is_internal_logged_and_not_leaked(
    visitor: Visitor,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    conversation_id = await visitor.start()

    async def broken(cmd: c.SendVisitorMessage) -> None:
        raise RuntimeError("secret detail in /srv/db.sqlite")

    monkeypatch.setattr(world.messaging, "send_visitor_message", broken)
    with caplog.at_level(logging.ERROR, logger="presentation.errors"):
        ack = await visitor.call(
            "message.send", {"conversation_id": conversation_id, "client_msg_id": "b", "text": "x"}
        )
    assert ack["error"]["code"] == "internal"
    assert "secret" not in ack["error"]["message"]
    record = next(r for r in caplog.records if r.name == "presentation.errors")
    assert conversation_id in record.getMessage()
    assert record.exc_info is not None


async def test_the_session_is_the_first_thing_a_client_gets(server: Server) -> None:
    v = Visitor(url=server.url)
    try:
        session = await v.connect({"tenant": "default"})
        assert session["visitor_id"]
        assert v.events.empty()
    finally:
        await v.disconnect()


# -- a client that leaves while its request is running --------------------------------


async def _wait_until(condition: Callable[[], bool]) -> None:
    """Poll server state that has no event to wait on."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met within 5 s")


async def _abort(v: Visitor) -> None:
    """Drop the connection the way a closed tab does: no Socket.IO goodbye."""
    await v.sio.eio.disconnect(abort=True)


async def test_a_client_that_leaves_while_starting_leaves_no_room_behind(
    server: Server,
    world: World,
    new_visitor: VisitorFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Someone else stays connected, so the namespace itself outlives the leaver.
    await new_visitor().connect({"tenant": "default"})
    leaver = new_visitor()
    await leaver.connect({"tenant": "default"})
    entered, release = asyncio.Event(), asyncio.Event()
    start = world.conversations.start_conversation

    async def slow(cmd: c.StartConversation) -> Conversation:
        entered.set()
        await release.wait()
        return await start(cmd)

    monkeypatch.setattr(world.conversations, "start_conversation", slow)
    sio = server.app[SIO_KEY]
    call = asyncio.create_task(leaver.sio.emit("conversation.start", {}, namespace="/visitor"))
    await asyncio.wait_for(entered.wait(), 5)
    await call
    await _abort(leaver)
    await _wait_until(lambda: server.app[NAMESPACE_KEY].socket_count == 1)
    with caplog.at_level(logging.INFO):
        release.set()
        await asyncio.sleep(0.3)

    rooms = sio.manager.rooms["/visitor"]
    assert not [room for room in rooms if str(room).startswith("conversation:")]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
