"""Stored events to table columns and back: one codec per event type, in one table.

Every event shares the columns ``conversation_id, pos, seq, type, created_at`` and the
sender columns (``seq`` is NULL for events only agents see); the rest of what an event
says goes into the columns of ``Stored`` its codec fills (``text`` and ``client_msg_id``
are real columns for messages, everything else is ``payload``). Adding an event type to
``business.events`` means adding its codec here; ``CODECS`` refuses to load without one
for every member of ``StoredEvent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from business.events import (
    DESK_EVENT_TYPES,
    EVENT_TYPES,
    ChatReturned,
    ConversationEvent,
    DeskEvent,
    DeskMessage,
    IdleNoticed,
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
    VisitorIdentified,
    Whispered,
    WrapUpRecorded,
)
from business.model import (
    ConversationId,
    ConversationState,
    MemberRole,
    OfferKind,
    Participant,
    ParticipantKind,
)
from data.codec_parts import (
    Codec,
    Head,
    Stored,
    decode_desk_message,
    decode_message,
    decode_note,
    decode_offer,
    decode_transferred,
    decode_update,
    decode_whisper,
    encode_offer,
    message_payload,
    participant_to_json,
    sender,
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


CODECS: Mapping[type[StoredEvent], Codec[Any]] = {
    MessagePosted: Codec[MessagePosted](
        lambda e: Stored(
            sender=e.sender,
            event_id=e.id,
            client_msg_id=e.client_msg_id,
            text=e.text,
            payload=message_payload(e),
        ),
        decode_message,
    ),
    ParticipantJoined: Codec[ParticipantJoined](
        lambda e: Stored(sender=e.participant, payload={"role": e.role} if e.role else {}),
        lambda h, s: ParticipantJoined(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            participant=sender(s, h),
            role=s.payload.get("role"),
        ),
    ),
    ParticipantLeft: Codec[ParticipantLeft](
        lambda e: Stored(sender=e.participant, payload={"role": e.role} if e.role else {}),
        lambda h, s: ParticipantLeft(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            participant=sender(s, h),
            role=s.payload.get("role"),
        ),
    ),
    StateChanged: Codec[StateChanged](
        lambda e: Stored(
            sender=e.by,
            payload={"state": e.state.value, "queue_position": e.queue_position}
            # A lock change only (messaging threads): other rows stay as they were.
            | ({} if e.locked is None else {"locked": e.locked})
            | ({} if e.reason is None else {"reason": e.reason}),
        ),
        lambda h, s: StateChanged(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            state=ConversationState(s.payload["state"]),
            queue_position=s.payload.get("queue_position"),
            by=s.sender,
            locked=s.payload.get("locked"),
            reason=s.payload.get("reason"),
        ),
    ),
    ReadMarked: Codec[ReadMarked](
        lambda e: Stored(sender=e.by, payload={"up_to_seq": e.up_to_seq}),
        lambda h, s: ReadMarked(
            conversation_id=h.conversation_id,
            seq=h.seq,
            pos=h.pos,
            created_at=h.created_at,
            by=sender(s, h),
            up_to_seq=int(s.payload["up_to_seq"]),
        ),
    ),
    MessageUpdated: Codec[MessageUpdated](
        # No client_msg_id: that column is unique per conversation and belongs to
        # messages; a correction sent twice is stored twice, to the same effect.
        lambda e: Stored(
            sender=e.sender, event_id=e.id, text=e.text, payload={"replaces": e.replaces}
        ),
        decode_update,
    ),
    NoteAdded: Codec[NoteAdded](
        lambda e: Stored(sender=e.by, event_id=e.id, text=e.text),
        decode_note,
    ),
    Whispered: Codec[Whispered](
        lambda e: Stored(sender=e.by, event_id=e.id, text=e.text),
        decode_whisper,
    ),
    WrapUpRecorded: Codec[WrapUpRecorded](
        lambda e: Stored(sender=e.by, text=e.note, payload={"code": e.code}),
        lambda h, s: WrapUpRecorded(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            by=sender(s, h),
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
            agent=sender(s, h),
        ),
    ),
    VisitorIdentified: Codec[VisitorIdentified](
        lambda e: Stored(sender=e.visitor, payload={"changes": [list(c) for c in e.changes]}),
        lambda h, s: VisitorIdentified(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            visitor=sender(s, h),
            changes=tuple((str(k), str(v)) for k, v in s.payload.get("changes", ())),
        ),
    ),
    IdleNoticed: Codec[IdleNoticed](
        lambda e: Stored(sender=e.agent, payload={"kind": e.kind, "minutes": e.minutes}),
        lambda h, s: IdleNoticed(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=sender(s, h),
            kind=s.payload["kind"],
            minutes=s.payload["minutes"],
        ),
    ),
    OfferMade: Codec[OfferMade](encode_offer, decode_offer),
    OfferClosed: Codec[OfferClosed](
        lambda e: Stored(
            sender=e.agent, payload={"outcome": e.outcome.value, "kind": e.kind.value}
        ),
        lambda h, s: OfferClosed(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=sender(s, h),
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
            agent=sender(s, h),
            role=MemberRole(s.payload["role"]),
        ),
    ),
    MemberLeft: Codec[MemberLeft](
        lambda e: Stored(sender=e.agent, payload={"role": e.role.value}),
        lambda h, s: MemberLeft(
            conversation_id=h.conversation_id,
            pos=h.pos,
            created_at=h.created_at,
            agent=sender(s, h),
            role=MemberRole(s.payload["role"]),
        ),
    ),
    Transferred: Codec[Transferred](
        lambda e: Stored(
            sender=e.by,
            payload={"to": participant_to_json(e.to), "queue": e.queue, "note": e.note},
        ),
        decode_transferred,
    ),
    # Text and client id in their columns, as a message's: the UNIQUE (conversation_id,
    # client_msg_id) makes a retried consult message unable to become a second row.
    DeskMessage: Codec[DeskMessage](
        lambda e: Stored(
            sender=e.sender,
            event_id=e.id,
            client_msg_id=e.client_msg_id,
            text=e.text,
            payload={"attachments": list(e.attachments)} if e.attachments else {},
        ),
        decode_desk_message,
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
