"""SocketIoVisitorNotifier on its own, and its subscription to the publisher."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from aiohttp import web

from business.conversation import Conversation
from business.events import MessagePosted, NoteAdded, TypingChanged
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from presentation import SocketIoVisitorNotifier, WebSettings, create_app
from tests.harness import World

AT = datetime(2026, 1, 1, tzinfo=UTC)
CONVERSATION = Conversation(
    id=ConversationId("c1"),
    tenant_id=TenantId("default"),
    visitor_id=VisitorId("v1"),
    visitor_name="Ada",
    queue=QueueName("support"),
    state=ConversationState.ACTIVE,
    created_at=AT,
)
VISITOR = Participant(kind=ParticipantKind.VISITOR, name="Ada", id="v1")
AGENT = Participant(kind=ParticipantKind.AGENT, name="Alice", id="alice@agents.example")


class RecordingServer:
    """Stands in for socketio.AsyncServer: records emits, or fails them."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.emitted: list[tuple[str, object, object, str]] = []

    async def emit(self, event: str, data: object, *, to: object, namespace: str) -> None:
        if self.fail:
            raise ConnectionError("redis is gone")
        self.emitted.append((event, data, to, namespace))


def _message(seq: int) -> MessagePosted:
    return MessagePosted(
        conversation_id=CONVERSATION.id,
        seq=seq,
        pos=seq,
        created_at=AT,
        id=EventId(f"e{seq}"),
        sender=VISITOR,
        text="hi",
    )


async def test_events_go_to_the_conversation_and_visitor_rooms_and_own_typing_is_dropped() -> None:
    sio = RecordingServer()
    notifier = SocketIoVisitorNotifier(sio)
    await notifier.notify(
        CONVERSATION,
        [
            _message(1),
            TypingChanged(conversation_id=CONVERSATION.id, sender=VISITOR, composing=True),
            TypingChanged(conversation_id=CONVERSATION.id, sender=AGENT, composing=True),
        ],
    )
    assert [(e, to, ns) for e, _, to, ns in sio.emitted] == [
        ("event", ["conversation:c1", "visitor:v1"], "/visitor"),
        ("typing", ["conversation:c1", "visitor:v1"], "/visitor"),
    ]


async def test_a_note_never_reaches_the_visitor_rooms() -> None:
    sio = RecordingServer()
    notifier = SocketIoVisitorNotifier(sio)
    note = NoteAdded(
        conversation_id=CONVERSATION.id,
        pos=2,
        created_at=AT,
        id=EventId("n1"),
        by=AGENT,
        text="internal only",
    )
    await notifier.notify(CONVERSATION, [_message(1), note])
    assert [data["seq"] for e, data, _, _ in sio.emitted] == [1]  # type: ignore[index]
    assert "internal only" not in repr(sio.emitted)


async def test_a_failing_emit_is_logged_and_the_rest_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sio = RecordingServer(fail=True)
    with caplog.at_level(logging.ERROR):
        await SocketIoVisitorNotifier(sio).notify(CONVERSATION, [_message(1), _message(2)])
    assert len(caplog.records) == 2
    assert all("conversation c1" in r.getMessage() for r in caplog.records)


async def test_the_app_subscribes_its_notifiers_while_running(world: World) -> None:
    before = world.publisher.subscribers
    app = create_app(services=world.services, settings=WebSettings())
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        added = [n for n in world.publisher.subscribers if n not in before]
        # The visitors' rooms, the counters of /metrics, and the REST API's watch of the
        # messages its calls store.
        assert sorted(type(n).__name__ for n in added) == [
            "MetricsNotifier",
            "NewMessages",
            "SocketIoVisitorNotifier",
        ]
    finally:
        await runner.cleanup()
    assert world.publisher.subscribers == before
