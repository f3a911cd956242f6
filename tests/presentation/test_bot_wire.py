"""A bot-first queue on the visitor's wire, against the real server and Socket.IO client:
state ``bot``, the bot's messages from ``{"kind": "bot"}`` with ``quick_replies``, and the
hand-over as ``state.changed`` to ``queued``."""

from __future__ import annotations

from datetime import UTC, datetime

from business import commands as c
from business.events import MessagePosted
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationId,
    EventId,
    Participant,
    ParticipantKind,
)
from presentation.wire import event_to_wire
from tests.business.bot_support import BOT_CONFIG
from tests.harness import World
from tests.presentation.conftest import VisitorFactory
from tests.visitor_client import Json, Visitor

BOT = {"kind": "bot", "name": "Ava"}
QUICK_REPLIES = [
    {"id": "hours", "label": "Opening hours"},
    {"id": "person", "label": "Talk to a person"},
]


async def bot_first(world: World) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=BOT_CONFIG)
    )


def shape(event: Json) -> Json:
    """What a client renders of an event: no ids, no times."""
    return {k: v for k, v in event.items() if k not in {"id", "created_at", "conversation_id"}}


async def test_the_bot_greets_answers_and_hands_over_on_the_wire(
    world: World, visitor: Visitor, new_visitor: VisitorFactory
) -> None:
    await bot_first(world)

    ack = await visitor.ok(
        "conversation.start", {"message": {"client_msg_id": "first-1", "text": "hello"}}
    )
    conversation = ack["conversation"]
    assert (conversation["state"], conversation["last_seq"]) == ("bot", 3)
    events = [shape(await visitor.next_event()) for _ in range(3)]
    assert events == [
        {"seq": 1, "type": "state.changed", "state": "bot"},
        {
            "seq": 2,
            "type": "message",
            "client_msg_id": "first-1",
            "from": {"kind": "visitor", "name": events[1]["from"]["name"]},
            "text": "hello",
            "attachments": [],
        },
        {
            "seq": 3,
            "type": "message",
            "from": BOT,
            "text": BOT_CONFIG.greeting,
            "attachments": [],
            "quick_replies": QUICK_REPLIES,
        },
    ]

    # A click on a quick reply sends its label as the visitor's message.
    sent = await visitor.ok(
        "message.send",
        {"conversation_id": conversation["id"], "client_msg_id": "m-2", "text": "Talk to a person"},
    )
    assert sent["message"]["seq"] == 4
    after = [shape(await visitor.next_event()) for _ in range(3)]
    assert [e["type"] for e in after] == ["message", "message", "state.changed"]
    assert after[1] == {
        "seq": 5,
        "type": "message",
        "from": BOT,
        "text": BOT_CONFIG.handover_text,
        "attachments": [],  # no quick_replies: nothing to choose once handed over
    }
    assert after[2] == {"seq": 6, "type": "state.changed", "state": "queued", "queue_position": 1}

    # A returning visitor sees the same, through sync and the session.
    again = new_visitor()
    session = await again.connect({"tenant": "default", "visitor_token": visitor.token})
    assert [(s["id"], s["state"]) for s in session["conversations"]] == [
        (conversation["id"], "queued")
    ]
    synced = await again.ok("sync", {"conversation_id": conversation["id"], "after_seq": 2})
    assert synced["events"][0]["quick_replies"] == QUICK_REPLIES
    assert [e["seq"] for e in synced["events"]] == [3, 4, 5, 6]


async def test_a_chat_with_the_bot_is_listed_in_state_bot(
    world: World, visitor: Visitor, new_visitor: VisitorFactory
) -> None:
    await bot_first(world)
    conversation_id = await visitor.start("hi")

    again = new_visitor()
    session = await again.connect({"tenant": "default", "visitor_token": visitor.token})

    assert session["conversations"] == [
        {
            "id": conversation_id,
            "state": "bot",
            "mode": "chat",
            "last_seq": 3,
            "unread": 1,
            "queue": "support",
            "locked": False,
        }
    ]


def test_messages_without_buttons_have_no_quick_replies_key() -> None:
    plain = MessagePosted(
        conversation_id=ConversationId("c"),
        seq=1,
        pos=1,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        id=EventId("e"),
        sender=Participant(kind=ParticipantKind.AGENT, name="Alice", id="alice@x"),
        text="hi",
    )
    assert "quick_replies" not in event_to_wire(plain)
