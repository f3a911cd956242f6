"""Business events to the wire JSON of PROTOCOL.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from business.events import (
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    TypingChanged,
)
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
)
from presentation.wire import event_to_wire, iso_utc, typing_to_wire

CID = ConversationId("c1")
AT = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
ALICE = Participant(kind=ParticipantKind.AGENT, name="Alice", id="alice@agents.example")
ADA = Participant(kind=ParticipantKind.VISITOR, name="Ada", id="visitor-42")


def test_times_are_iso_8601_utc_with_z() -> None:
    assert iso_utc(AT) == "2026-03-01T09:30:15.123Z"
    plus_two = AT.astimezone(timezone(timedelta(hours=2)))
    assert iso_utc(plus_two) == "2026-03-01T09:30:15.123Z"
    # Whole seconds and a UTC that is not ``datetime.UTC`` itself.
    assert iso_utc(AT.replace(microsecond=0)) == "2026-03-01T09:30:15.000Z"
    named_utc = timezone(timedelta(0), "GMT")
    assert named_utc is not UTC
    assert iso_utc(AT.replace(tzinfo=named_utc)) == "2026-03-01T09:30:15.123Z"


def test_visitor_message() -> None:
    event = MessagePosted(
        conversation_id=CID, seq=3, pos=3, created_at=AT, id=EventId("e3"), sender=ADA,
        text="hi", client_msg_id="m-1",
    )  # fmt: skip
    assert event_to_wire(event) == {
        "conversation_id": "c1",
        "seq": 3,
        "type": "message",
        "created_at": "2026-03-01T09:30:15.123Z",
        "id": "e3",
        "client_msg_id": "m-1",
        "from": {"kind": "visitor", "name": "Ada"},
        "text": "hi",
        "attachments": [],
    }


def test_agent_message_hides_the_jid_and_the_stanza_id() -> None:
    event = MessagePosted(
        conversation_id=CID, seq=4, pos=4, created_at=AT, id=EventId("e4"), sender=ALICE,
        text="hello", client_msg_id="stanza-1", attachments=("https://files/x.png",),
    )  # fmt: skip
    wire = event_to_wire(event)
    assert wire["from"] == {"kind": "agent", "name": "Alice"}
    assert "client_msg_id" not in wire
    assert wire["attachments"] == ["https://files/x.png"]
    assert "alice@agents.example" not in repr(wire)


def test_participants_state_and_read() -> None:
    joined = ParticipantJoined(conversation_id=CID, seq=5, pos=5, created_at=AT, participant=ALICE)
    left = ParticipantLeft(conversation_id=CID, seq=6, pos=6, created_at=AT, participant=ADA)
    queued = StateChanged(
        conversation_id=CID, seq=1, pos=1, created_at=AT, state=ConversationState.QUEUED,
        queue_position=2,
    )  # fmt: skip
    ended = StateChanged(
        conversation_id=CID, seq=7, pos=7, created_at=AT, state=ConversationState.ENDED
    )
    read = ReadMarked(conversation_id=CID, seq=8, pos=8, created_at=AT, by=ALICE, up_to_seq=6)

    assert event_to_wire(joined)["participant"] == {"kind": "agent", "name": "Alice"}
    assert event_to_wire(joined)["type"] == "participant.joined"
    assert event_to_wire(left)["participant"] == {"kind": "visitor", "name": "Ada"}
    assert event_to_wire(left)["type"] == "participant.left"
    assert event_to_wire(queued)["state"] == "queued"
    assert event_to_wire(queued)["queue_position"] == 2
    assert event_to_wire(ended)["state"] == "ended"
    assert "queue_position" not in event_to_wire(ended)
    wire_read = event_to_wire(read)
    assert (wire_read["type"], wire_read["seq"], wire_read["up_to_seq"]) == ("read", 8, 6)
    assert wire_read["by"] == {"kind": "agent", "name": "Alice"}
    assert "alice@agents.example" not in repr([joined, left, read].__class__) + repr(wire_read)


def test_typing() -> None:
    on = TypingChanged(conversation_id=CID, sender=ALICE, composing=True)
    off = TypingChanged(conversation_id=CID, sender=ALICE, composing=False)
    assert typing_to_wire(on) == {
        "conversation_id": "c1",
        "from": {"kind": "agent", "name": "Alice"},
        "state": "composing",
    }
    assert typing_to_wire(off)["state"] == "paused"
