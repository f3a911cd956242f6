"""Stored events to table columns and back: one codec per event type, in one table.

Every event shares the columns ``conversation_id, pos, seq, type, created_at`` and the
sender columns (``seq`` is NULL for events only agents see); the rest of what an event
says goes into the columns of ``Stored`` its codec fills (``text`` and ``client_msg_id``
are real columns for messages, everything else is ``payload``). Adding an event type to
``business.events`` means adding its codec here; ``CODECS`` refuses to load without one
for every member of ``StoredEvent``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from business.events import (
    DESK_EVENT_TYPES,
    EVENT_TYPES,
    ChatReturned,
    ConversationEvent,
    DeskEvent,
    DeskMessage,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    StoredEvent,
    Transferred,
    Whispered,
    WrapUpRecorded,
)
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    MemberRole,
    OfferKind,
    Participant,
    ParticipantKind,
)


class EventColumns(Protocol):
    """What a stored event row offers (an ORM row or a Core result row)."""

    @property
    def conversation_id(self) -> str: ...

    @property
    def pos(self) -> int: ...

    @property
    def seq(self) -> int | None: ...

    @property
    def type(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def event_id(self) -> str | None: ...

    @property
    def client_msg_id(self) -> str | None: ...

    @property
    def sender_kind(self) -> str | None: ...

    @property
    def sender_name(self) -> str | None: ...

    @property
    def sender_id(self) -> str | None: ...

    @property
    def text(self) -> str | None: ...

    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """The type-specific part of an event's columns."""

    sender: Participant | None = None
    event_id: str | None = None
    client_msg_id: str | None = None
    text: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Head:
    """What every stored event has."""

    conversation_id: ConversationId
    pos: int
    seq_or_none: int | None
    created_at: datetime

    @property
    def seq(self) -> int:
        """The visitor's number, which an event they see must have."""
        if self.seq_or_none is None:
            raise ValueError(f"event {self.conversation_id} pos {self.pos} has no seq")
        return self.seq_or_none


_E = TypeVar("_E", bound=StoredEvent)


@dataclass(frozen=True)
class Codec(Generic[_E]):
    encode: Callable[[_E], Stored]
    decode: Callable[[Head, Stored], _E]


def _sender(stored: Stored, head: Head) -> Participant:
    if stored.sender is None:
        raise ValueError(f"event {head.conversation_id} pos {head.pos} has no participant")
    return stored.sender


def _decode_message(head: Head, s: Stored) -> MessagePosted:
    if s.event_id is None or s.text is None:
        raise ValueError(f"message {head.conversation_id} pos {head.pos} lacks its id or text")
    return MessagePosted(
        conversation_id=head.conversation_id,
        seq=head.seq,
        pos=head.pos,
        created_at=head.created_at,
        id=EventId(s.event_id),
        sender=_sender(s, head),
        text=s.text,
        client_msg_id=s.client_msg_id,
        attachments=tuple(s.payload.get("attachments", ())),
    )


def _decode_note(head: Head, s: Stored) -> NoteAdded:
    if s.event_id is None or s.text is None:
        raise ValueError(f"note {head.conversation_id} pos {head.pos} lacks its id or text")
    return NoteAdded(
        conversation_id=head.conversation_id,
        pos=head.pos,
        created_at=head.created_at,
        id=EventId(s.event_id),
        by=_sender(s, head),
        text=s.text,
    )


def _decode_whisper(head: Head, s: Stored) -> Whispered:
    note = _decode_note(head, s)
    return Whispered(
        conversation_id=note.conversation_id,
        pos=note.pos,
        created_at=note.created_at,
        id=note.id,
        by=note.by,
        text=note.text,
    )


def _decode_desk_message(head: Head, s: Stored) -> DeskMessage:
    if s.event_id is None or s.text is None:
        raise ValueError(f"desk message {head.conversation_id} pos {head.pos} lacks its id or text")
    return DeskMessage(
        conversation_id=head.conversation_id,
        pos=head.pos,
        created_at=head.created_at,
        id=EventId(s.event_id),
        sender=_sender(s, head),
        text=s.text,
        client_msg_id=s.client_msg_id,
    )


def _participant_to_json(who: Participant | None) -> dict[str, Any] | None:
    if who is None:
        return None
    return {"kind": who.kind.value, "name": who.name, "id": who.id}


def _participant_from_json(data: Mapping[str, Any] | None) -> Participant | None:
    if data is None:
        return None
    return Participant(kind=ParticipantKind(data["kind"]), name=data["name"], id=data.get("id"))


def _encode_offer(e: OfferMade) -> Stored:
    payload: dict[str, Any] = {"expires_at": e.expires_at.isoformat(), "kind": e.kind.value}
    if e.by is not None:
        payload["by"] = _participant_to_json(e.by)
    if e.note is not None:
        payload["note"] = e.note
    return Stored(sender=e.agent, payload=payload)


def _decode_offer(h: Head, s: Stored) -> OfferMade:
    # Offers stored before transfers existed have neither kind nor by nor note: routed.
    return OfferMade(
        conversation_id=h.conversation_id,
        pos=h.pos,
        created_at=h.created_at,
        agent=_sender(s, h),
        expires_at=datetime.fromisoformat(s.payload["expires_at"]),
        kind=OfferKind(s.payload.get("kind", OfferKind.ROUTE.value)),
        by=_participant_from_json(s.payload.get("by")),
        note=s.payload.get("note"),
    )


def _decode_transferred(h: Head, s: Stored) -> Transferred:
    return Transferred(
        conversation_id=h.conversation_id,
        pos=h.pos,
        created_at=h.created_at,
        by=_sender(s, h),
        to=_participant_from_json(s.payload.get("to")),
        queue=s.payload.get("queue"),
        note=s.payload.get("note"),
    )


def _decode_update(head: Head, s: Stored) -> MessageUpdated:
    replaces = s.payload.get("replaces")
    if s.event_id is None or s.text is None or not replaces:
        raise ValueError(f"update {head.conversation_id} pos {head.pos} lacks an id or text")
    return MessageUpdated(
        conversation_id=head.conversation_id,
        seq=head.seq,
        pos=head.pos,
        created_at=head.created_at,
        id=EventId(s.event_id),
        replaces=EventId(replaces),
        sender=_sender(s, head),
        text=s.text,
    )


CODECS: Mapping[type[StoredEvent], Codec[Any]] = {
    MessagePosted: Codec[MessagePosted](
        lambda e: Stored(
            sender=e.sender,
            event_id=e.id,
            client_msg_id=e.client_msg_id,
            text=e.text,
            payload={"attachments": list(e.attachments)},
        ),
        _decode_message,
    ),
    ParticipantJoined: Codec[ParticipantJoined](
        lambda e: Stored(sender=e.participant),
        lambda h, s: ParticipantJoined(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            participant=_sender(s, h),
        ),
    ),
    ParticipantLeft: Codec[ParticipantLeft](
        lambda e: Stored(sender=e.participant),
        lambda h, s: ParticipantLeft(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            participant=_sender(s, h),
        ),
    ),
    StateChanged: Codec[StateChanged](
        lambda e: Stored(payload={"state": e.state.value, "queue_position": e.queue_position}),
        lambda h, s: StateChanged(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            state=ConversationState(s.payload["state"]),
            queue_position=s.payload.get("queue_position"),
        ),
    ),
    ReadMarked: Codec[ReadMarked](
        lambda e: Stored(sender=e.by, payload={"up_to_seq": e.up_to_seq}),
        lambda h, s: ReadMarked(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            by=_sender(s, h),
            up_to_seq=int(s.payload["up_to_seq"]),
        ),
    ),
    MessageUpdated: Codec[MessageUpdated](
        # No client_msg_id: that column is unique per conversation and belongs to
        # messages; a correction sent twice is stored twice, to the same effect.
        lambda e: Stored(
            sender=e.sender, event_id=e.id, text=e.text, payload={"replaces": e.replaces}
        ),
        _decode_update,
    ),
    NoteAdded: Codec[NoteAdded](
        lambda e: Stored(sender=e.by, event_id=e.id, text=e.text),
        _decode_note,
    ),
    Whispered: Codec[Whispered](
        lambda e: Stored(sender=e.by, event_id=e.id, text=e.text),
        _decode_whisper,
    ),
    WrapUpRecorded: Codec[WrapUpRecorded](
        lambda e: Stored(sender=e.by, text=e.note, payload={"code": e.code}),
        lambda h, s: WrapUpRecorded(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            by=_sender(s, h),
            code=s.payload.get("code"),
            note=s.text,
        ),
    ),
    ChatReturned: Codec[ChatReturned](
        lambda e: Stored(sender=e.agent),
        lambda h, s: ChatReturned(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=_sender(s, h),
        ),
    ),
    OfferMade: Codec[OfferMade](_encode_offer, _decode_offer),
    OfferClosed: Codec[OfferClosed](
        lambda e: Stored(
            sender=e.agent, payload={"outcome": e.outcome.value, "kind": e.kind.value}
        ),
        lambda h, s: OfferClosed(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=_sender(s, h),
            outcome=OfferOutcome(s.payload["outcome"]),
            kind=OfferKind(s.payload.get("kind", OfferKind.ROUTE.value)),
        ),
    ),
    MemberJoined: Codec[MemberJoined](
        lambda e: Stored(sender=e.agent, payload={"role": e.role.value}),
        lambda h, s: MemberJoined(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=_sender(s, h),
            role=MemberRole(s.payload["role"]),
        ),
    ),
    MemberLeft: Codec[MemberLeft](
        lambda e: Stored(sender=e.agent, payload={"role": e.role.value}),
        lambda h, s: MemberLeft(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=_sender(s, h),
            role=MemberRole(s.payload["role"]),
        ),
    ),
    Transferred: Codec[Transferred](
        lambda e: Stored(
            sender=e.by,
            payload={"to": _participant_to_json(e.to), "queue": e.queue, "note": e.note},
        ),
        _decode_transferred,
    ),
    # Text and client id in their columns, as a message's: the UNIQUE (conversation_id,
    # client_msg_id) makes a retried consult message unable to become a second row.
    DeskMessage: Codec[DeskMessage](
        lambda e: Stored(
            sender=e.sender, event_id=e.id, client_msg_id=e.client_msg_id, text=e.text
        ),
        _decode_desk_message,
    ),
}

_missing = (set(EVENT_TYPES.values()) | set(DESK_EVENT_TYPES.values())) - set(CODECS)
if _missing:  # pragma: no cover - caught by the first test run after adding an event
    raise ImportError(f"no codec for {sorted(cls.__name__ for cls in _missing)}")
_BY_TYPE: Mapping[str, Codec[Any]] = {cls.TYPE: codec for cls, codec in CODECS.items()}


def encode_event(event: StoredEvent) -> dict[str, Any]:
    """Every column of the event's row, by name."""
    stored = CODECS[type(event)].encode(event)
    who = stored.sender
    return {
        "conversation_id": event.conversation_id,
        "pos": event.pos,
        "seq": getattr(event, "seq", None),
        "type": event.TYPE,
        "created_at": event.created_at,
        "event_id": stored.event_id,
        "client_msg_id": stored.client_msg_id,
        "sender_kind": None if who is None else who.kind.value,
        "sender_name": None if who is None else who.name,
        "sender_id": None if who is None else who.id,
        "text": stored.text,
        "payload": dict(stored.payload),
    }


def decode_event(row: EventColumns) -> StoredEvent:
    codec = _BY_TYPE.get(row.type)
    if codec is None:
        raise ValueError(f"unknown event type {row.type!r} at {row.conversation_id} pos {row.pos}")
    sender = None
    if row.sender_kind is not None and row.sender_name is not None:
        sender = Participant(
            kind=ParticipantKind(row.sender_kind), name=row.sender_name, id=row.sender_id
        )
    head = Head(
        conversation_id=ConversationId(row.conversation_id),
        pos=row.pos,
        seq_or_none=row.seq,
        created_at=row.created_at,
    )
    stored = Stored(
        sender=sender,
        event_id=row.event_id,
        client_msg_id=row.client_msg_id,
        text=row.text,
        payload=row.payload,
    )
    event: StoredEvent = codec.decode(head, stored)
    return event


def decode_visible(row: EventColumns) -> ConversationEvent:
    """An event the visitor sees (a row with a seq)."""
    event = decode_event(row)
    if isinstance(event, DeskEvent):
        raise ValueError(f"event {row.conversation_id} pos {row.pos} is not the visitor's")
    return event
