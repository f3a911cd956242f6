"""The parts ``data.codecs`` builds its codecs from: what a codec writes (``Stored``) and
reads (``Head``), and the decoders too long for a lambda."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from business.bot_model import QuickReply
from business.events import (
    DeskMessage,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferMade,
    StoredEvent,
    Transferred,
    Whispered,
)
from business.model import (
    ConversationId,
    EventId,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.rich import reply_from_json, reply_to_json, rich_to_json, stored_rich


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


def sender(stored: Stored, head: Head) -> Participant:
    if stored.sender is None:
        raise ValueError(f"event {head.conversation_id} pos {head.pos} has no participant")
    return stored.sender


def id_and_text(head: Head, s: Stored, what: str) -> tuple[EventId, str]:
    """The event id and text an event of kind ``what`` is stored with."""
    if s.event_id is None or s.text is None:
        raise ValueError(f"{what} {head.conversation_id} pos {head.pos} lacks its id or text")
    return EventId(s.event_id), s.text


def message_payload(e: MessagePosted) -> dict[str, Any]:
    payload: dict[str, Any] = {"attachments": list(e.attachments)}
    if e.quick_replies:  # a bot's buttons; no key at all on every other message
        payload["quick_replies"] = [{"id": q.id, "label": q.label} for q in e.quick_replies]
    if e.rich is not None:
        payload["rich"] = rich_to_json(e.rich)
    if e.reply_to is not None:
        payload["reply_to"] = reply_to_json(e.reply_to)
    return payload


def decode_message(head: Head, s: Stored) -> MessagePosted:
    event_id, text = id_and_text(head, s, "message")
    return MessagePosted(
        conversation_id=head.conversation_id,
        seq=head.seq,
        pos=head.pos,
        created_at=head.created_at,
        id=event_id,
        sender=sender(s, head),
        text=text,
        client_msg_id=s.client_msg_id,
        attachments=tuple(s.payload.get("attachments", ())),
        quick_replies=tuple(
            QuickReply(id=q["id"], label=q["label"]) for q in s.payload.get("quick_replies", ())
        ),
        rich=None if "rich" not in s.payload else stored_rich(s.payload["rich"]),
        reply_to=None if "reply_to" not in s.payload else reply_from_json(s.payload["reply_to"]),
    )


def decode_note(head: Head, s: Stored) -> NoteAdded:
    event_id, text = id_and_text(head, s, "note")
    return NoteAdded(
        conversation_id=head.conversation_id,
        pos=head.pos,
        created_at=head.created_at,
        id=event_id,
        by=sender(s, head),
        text=text,
    )


def decode_whisper(head: Head, s: Stored) -> Whispered:
    event_id, text = id_and_text(head, s, "whisper")
    return Whispered(
        conversation_id=head.conversation_id,
        pos=head.pos,
        created_at=head.created_at,
        id=event_id,
        by=sender(s, head),
        text=text,
    )


def decode_desk_message(head: Head, s: Stored) -> DeskMessage:
    event_id, text = id_and_text(head, s, "desk message")
    return DeskMessage(
        conversation_id=head.conversation_id,
        pos=head.pos,
        created_at=head.created_at,
        id=event_id,
        sender=sender(s, head),
        text=text,
        client_msg_id=s.client_msg_id,
        attachments=tuple(s.payload.get("attachments", ())),
    )


def participant_to_json(who: Participant | None) -> dict[str, Any] | None:
    if who is None:
        return None
    return {"kind": who.kind.value, "name": who.name, "id": who.id}


def participant_from_json(data: Mapping[str, Any] | None) -> Participant | None:
    if data is None:
        return None
    return Participant(kind=ParticipantKind(data["kind"]), name=data["name"], id=data.get("id"))


def encode_offer(e: OfferMade) -> Stored:
    payload: dict[str, Any] = {"expires_at": e.expires_at.isoformat(), "kind": e.kind.value}
    if e.by is not None:
        payload["by"] = participant_to_json(e.by)
    if e.note is not None:
        payload["note"] = e.note
    return Stored(sender=e.agent, payload=payload)


def decode_offer(h: Head, s: Stored) -> OfferMade:
    # Offers stored before transfers existed have neither kind nor by nor note: routed.
    return OfferMade(
        conversation_id=h.conversation_id,
        pos=h.pos,
        created_at=h.created_at,
        agent=sender(s, h),
        expires_at=datetime.fromisoformat(s.payload["expires_at"]),
        kind=OfferKind(s.payload.get("kind", OfferKind.ROUTE.value)),
        by=participant_from_json(s.payload.get("by")),
        note=s.payload.get("note"),
    )


def decode_transferred(h: Head, s: Stored) -> Transferred:
    return Transferred(
        conversation_id=h.conversation_id,
        pos=h.pos,
        created_at=h.created_at,
        by=sender(s, h),
        to=participant_from_json(s.payload.get("to")),
        queue=s.payload.get("queue"),
        note=s.payload.get("note"),
    )


def decode_update(head: Head, s: Stored) -> MessageUpdated:
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
        sender=sender(s, head),
        text=s.text,
    )
