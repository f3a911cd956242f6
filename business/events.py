"""Events: what happened, in the past tense.

``ConversationEvent`` values are stored with a per-conversation ``seq`` that grows by one
with no gaps; they are what a reconnecting visitor replays. ``TypingChanged`` is
ephemeral: published, never stored.

Adding a stored event type: a class here with its wire and storage name in ``TYPE``,
added to ``ConversationEvent``; then one codec in ``data.codecs`` and one ``case`` in each
edge's mapping (the type checker points at every ``assert_never`` that misses it).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted:
    TYPE: ClassVar[str] = "message"
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    id: EventId
    sender: Participant
    text: str
    client_msg_id: str | None = None
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantJoined:
    TYPE: ClassVar[str] = "participant.joined"
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    participant: Participant


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantLeft:
    TYPE: ClassVar[str] = "participant.left"
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    participant: Participant


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    TYPE: ClassVar[str] = "state.changed"
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    state: ConversationState
    queue_position: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadMarked:
    TYPE: ClassVar[str] = "read"
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    by: Participant
    up_to_seq: int


ConversationEvent = MessagePosted | ParticipantJoined | ParticipantLeft | StateChanged | ReadMarked


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingChanged:
    conversation_id: ConversationId
    sender: Participant
    composing: bool


DomainEvent = ConversationEvent | TypingChanged

EVENT_TYPES: dict[str, type[ConversationEvent]] = {
    cls.TYPE: cls for cls in typing.get_args(ConversationEvent)
}
"""Every stored event class by its wire and storage name (PROTOCOL.md)."""


def event_type(event: ConversationEvent) -> str:
    return event.TYPE
