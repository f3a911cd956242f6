"""``presentation.event_refs`` on its own: which events go as references, what a
reference says, and that the common path never encodes an event to find out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, strategies as st

from business.bot_model import QuickReply
from business.events import ConversationEvent, MessagePosted, MessageUpdated, StateChanged
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
)
from business.validation import Limits
from presentation import event_refs, packet_json
from presentation.event_refs import EventRefs, event_url
from presentation.packet_json import encoded_size
from presentation.settings import WebSettings
from presentation.wire import event_to_wire

AT = datetime(2026, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
CID = ConversationId("c0ffee")
AGENT = Participant(kind=ParticipantKind.AGENT, name="Alice", id="alice@agents.example")
SMALL = 2048


def _message(text: str, seq: int = 7, **fields: object) -> MessagePosted:
    return MessagePosted(
        conversation_id=CID,
        seq=seq,
        pos=seq,
        created_at=AT,
        id=EventId(f"e{seq}"),
        sender=AGENT,
        text=text,
        **fields,  # type: ignore[arg-type]
    )


def test_an_event_within_the_limit_goes_as_itself() -> None:
    refs = EventRefs(inline_max_bytes=SMALL)
    event = _message("Hello, how can I help?")
    assert refs.live(event) == event_to_wire(event)


def test_an_event_over_the_limit_goes_as_a_reference_with_its_own_seq() -> None:
    refs = EventRefs(inline_max_bytes=SMALL)
    event = _message("é" * 1200)  # 2,400 bytes of UTF-8 for the text alone (orjson)
    full = event_to_wire(event)
    assert refs.live(event) == {
        "conversation_id": "c0ffee",
        "seq": 7,
        "type": "event.ref",
        "created_at": "2026-03-01T09:30:15.123Z",
        "ref_type": "message",
        "size": encoded_size(full),
        "url": "/visitor-api/v1/conversations/c0ffee/events/7",
    }


def test_the_limit_is_inclusive_and_counts_the_bytes_socketio_sends() -> None:
    base = _message("")
    overhead = encoded_size(event_to_wire(base))
    exactly = _message("x" * (SMALL - overhead))
    assert encoded_size(event_to_wire(exactly)) == SMALL
    refs = EventRefs(inline_max_bytes=SMALL)
    assert refs.live(exactly)["type"] == "message"
    assert refs.live(_message("x" * (SMALL - overhead + 1)))["type"] == "event.ref"
    # A correction is as large as its text: it may go as a reference too.
    update = MessageUpdated(
        conversation_id=CID,
        seq=8,
        pos=8,
        created_at=AT,
        id=EventId("e8"),
        replaces=EventId("e7"),
        sender=AGENT,
        text="x" * SMALL,
    )
    assert refs.live(update)["ref_type"] == "message.updated"


def test_the_url_escapes_the_conversation_id() -> None:
    assert event_url("a/b c", 3) == "/visitor-api/v1/conversations/a%2Fb%20c/events/3"


def test_with_orjson_every_event_is_measured_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("orjson")
    measured: list[object] = []

    def counted(value: object) -> int:
        measured.append(value)
        return encoded_size(value)

    monkeypatch.setattr(event_refs, "encoded_size", counted)
    refs = EventRefs(inline_max_bytes=SMALL)
    small = _message("Hello")
    assert refs.live(small) == event_to_wire(small)
    near = _message("é" * 900)  # bounded by the walk at 10,800 bytes: 1,800 exactly
    assert refs.live(near) == event_to_wire(near)
    assert measured == [event_to_wire(small), event_to_wire(near)]


def test_without_orjson_no_message_within_the_text_limit_is_ever_encoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without orjson the common path pays a walk over the event's fields, never an
    encoding: even a message of the longest text, all of it characters JSON spells as
    12 bytes, is bounded below the default limit."""
    monkeypatch.setattr(packet_json, "orjson", None)
    encoded: list[object] = []

    def counted(value: object) -> int:
        encoded.append(value)
        return encoded_size(value)

    monkeypatch.setattr(event_refs, "encoded_size", counted)
    refs = EventRefs(inline_max_bytes=WebSettings().event_inline_max_bytes)
    longest = _message("😀" * Limits().max_text_length, attachments=("https://f.example/a",))
    assert refs.live(longest) == event_to_wire(longest)
    state = StateChanged(
        conversation_id=CID, seq=9, pos=9, created_at=AT, state=ConversationState.ACTIVE
    )
    assert refs.live(state) == event_to_wire(state)
    assert encoded == []
    # Over the bound, the exact size decides (and is what the reference reports).
    big = _message("😀" * 20_000)  # 80,000 bytes of UTF-8, more as \u escapes
    assert refs.live(big)["size"] == encoded_size(event_to_wire(big))
    assert len(encoded) == 1


def test_a_sync_reply_reuses_each_events_size_and_packs_references() -> None:
    refs = EventRefs(inline_max_bytes=SMALL)
    events: list[ConversationEvent] = [
        _message("small one", seq=1),
        _message("x" * 5000, seq=2),
        _message("small two", seq=3),
    ]
    items, cut = refs.sync_reply(events, 262_144)
    assert cut is False
    assert [item["type"] for item in items] == ["message", "event.ref", "message"]
    assert [item["seq"] for item in items] == [1, 2, 3]
    assert items[0] == event_to_wire(events[0])
    assert items[1]["size"] == encoded_size(event_to_wire(events[1]))
    # The budget counts the reference, not the event: all three fit in 1 KiB.
    assert refs.sync_reply(events, 1024) == (items, False)
    assert encoded_size(items) <= 1024


_json_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@given(
    text=_json_text,
    name=_json_text,
    attachments=st.lists(_json_text, max_size=3),
    replies=st.lists(st.tuples(_json_text, _json_text), max_size=3),
)
def test_the_size_bound_is_never_below_the_encoded_size(
    text: str, name: str, attachments: list[str], replies: list[tuple[str, str]]
) -> None:
    event = MessagePosted(
        conversation_id=CID,
        seq=2**40,
        pos=1,
        created_at=AT,
        id=EventId(name or "e"),
        sender=Participant(kind=ParticipantKind.BOT, name=name, id="b"),
        text=text,
        client_msg_id=None,
        attachments=tuple(attachments),
        quick_replies=tuple(QuickReply(id=i, label=label) for i, label in replies),
    )
    wire = event_to_wire(event)
    assert event_refs._size_bound(wire) >= encoded_size(wire)
