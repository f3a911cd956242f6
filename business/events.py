"""Events: what happened, in the past tense.

``ConversationEvent`` values are stored with a per-conversation ``seq`` that grows by one
with no gaps; they are what a reconnecting visitor replays. ``TypingChanged`` is
ephemeral: published, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    Participant,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted:
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
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    participant: Participant


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantLeft:
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    participant: Participant


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    conversation_id: ConversationId
    seq: int
    created_at: datetime
    state: ConversationState
    queue_position: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadMarked:
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

EVENT_TYPES: dict[type[ConversationEvent], str] = {
    MessagePosted: "message",
    ParticipantJoined: "participant.joined",
    ParticipantLeft: "participant.left",
    StateChanged: "state.changed",
    ReadMarked: "read",
}
"""The wire and storage name of each stored event type (PROTOCOL.md)."""


def event_type(event: ConversationEvent) -> str:
    return EVENT_TYPES[type(event)]
