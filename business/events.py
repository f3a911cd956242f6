"""Events: what happened, in the past tense.

Every stored event has a ``pos``: its place among all of its conversation's events,
growing by one with no gaps. It is the order the agent desk delivers in. The events the
visitor may see (``ConversationEvent``) also have a ``seq``, their own gap-free count:
that is what the visitor protocol calls ``seq``, what a reconnecting visitor replays
from. The others (``DeskEvent``: internal notes, and later offers, whispers, consult
messages) take no ``seq``, so the visitor's stream stays gap-free and ``sync`` from 0
shows none of them. ``TypingChanged``, ``VisitorRead`` and ``VisitorMoved`` are ephemeral
(``EphemeralEvent``): published, never stored.

Adding a stored event type: a class here with its storage name in ``TYPE``, added to
``ConversationEvent`` (the visitor sees it: it has a ``seq``) or ``DeskEvent`` (only
agents see it); then one codec in ``data.codecs`` and one ``case`` in each edge's
mapping (the type checker points at every ``assert_never`` that misses it).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from business.bot_model import QuickReply
from business.model import (
    ConversationId,
    ConversationState,
    EventId,
    MemberRole,
    OfferKind,
    Participant,
)
from business.rich import Rich, RichReply


@dataclass(frozen=True, slots=True, kw_only=True)
class MessagePosted:
    TYPE: ClassVar[str] = "message"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    id: EventId
    sender: Participant
    text: str
    client_msg_id: str | None = None
    attachments: tuple[str, ...] = ()
    quick_replies: tuple[QuickReply, ...] = ()
    """A bot's buttons under its message: the visitor answers by clicking one."""
    rich: Rich | None = None
    """Choices, links, cards or a list under the message (``business.rich``): an
    agent's, a bot's or the system's."""
    reply_to: RichReply | None = None
    """On the visitor's answer to a rich message: what they chose (``text`` is the
    chosen labels)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantJoined:
    TYPE: ClassVar[str] = "participant.joined"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    participant: Participant
    role: str | None = None
    """For an agent: ``owner``, ``invited`` or ``supervisor`` (stored, for history and
    reports; not on the visitor's wire). None for the visitor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ParticipantLeft:
    TYPE: ClassVar[str] = "participant.left"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    participant: Participant
    role: str | None = None
    """For an agent: ``owner``, ``invited`` or ``supervisor`` (stored, for history and
    reports; not on the visitor's wire). None for the visitor."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChanged:
    TYPE: ClassVar[str] = "state.changed"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    state: ConversationState
    queue_position: int | None = None
    by: Participant | None = None
    """Who ended it (on the change to ``ended``): the visitor, an agent, or an
    integrator as a bot or the system. None elsewhere, and on ends stored before it was
    recorded (then whoever left just before says it)."""
    locked: bool | None = None
    """On a messaging thread's lock or unlock (``business.threads``): whether the
    visitor may write to it now; None on every other change."""
    reason: str | None = None
    """On an end the engine decided itself: why (``inactivity``); None otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadMarked:
    TYPE: ClassVar[str] = "read"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    by: Participant
    up_to_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageUpdated:
    """An agent corrected their last message (XEP-0308): ``text`` replaces the text of
    the message ``replaces`` (its event id), which stays stored as it was."""

    TYPE: ClassVar[str] = "message.updated"
    conversation_id: ConversationId
    seq: int
    pos: int
    created_at: datetime
    id: EventId
    replaces: EventId
    sender: Participant
    text: str


ConversationEvent = (
    MessagePosted | ParticipantJoined | ParticipantLeft | StateChanged | ReadMarked | MessageUpdated
)
"""What the visitor may see: every one has a ``seq``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NoteAdded:
    """An internal note (``!note``): for the agents and supervisors in the conversation
    and in its history, never for the visitor."""

    TYPE: ClassVar[str] = "note.added"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    id: EventId
    by: Participant
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WrapUpRecorded:
    """How the agent closed the chat: a wrap-up code of its queue and/or a note."""

    TYPE: ClassVar[str] = "wrap_up"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    by: Participant
    code: str | None
    note: str | None


class OfferOutcome(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    WITHDRAWN = "withdrawn"
    """The chat ended (or went elsewhere) while it was offered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferMade:
    """A queued chat is offered to one agent until ``expires_at``; the visitor keeps their
    place and sees nothing of it."""

    TYPE: ClassVar[str] = "offer.made"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant
    expires_at: datetime
    kind: OfferKind = OfferKind.ROUTE
    by: Participant | None = None
    """Who offers it (the agent transferring, inviting, consulting); None: the router."""
    note: str | None = None
    """What they wrote with it (``!transfer sam@example.com she asks about refunds``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferClosed:
    TYPE: ClassVar[str] = "offer.closed"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant
    outcome: OfferOutcome
    kind: OfferKind = OfferKind.ROUTE


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoined:
    """An agent joined where the visitor does not see it (a consultant), or a
    conference member joined (the visitor sees ``participant.joined`` as well)."""

    TYPE: ClassVar[str] = "member.joined"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant
    role: MemberRole


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeft:
    TYPE: ClassVar[str] = "member.left"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant
    role: MemberRole


@dataclass(frozen=True, slots=True, kw_only=True)
class Transferred:
    """The chat changed hands: ``by`` handed it to ``to`` (with ``note``), or back to
    ``queue`` when ``to`` is None."""

    TYPE: ClassVar[str] = "transferred"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    by: Participant
    to: Participant | None
    queue: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Whispered:
    """A supervisor's word to the agents in the chat (``!whisper``), never the visitor's."""

    TYPE: ClassVar[str] = "whisper"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    id: EventId
    by: Participant
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeskMessage:
    """What a consultant writes: for the agents in the chat, never for the visitor."""

    TYPE: ClassVar[str] = "desk.message"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    id: EventId
    sender: Participant
    text: str
    client_msg_id: str | None = None
    attachments: tuple[str, ...] = ()
    """Files, as a message's (``file:<id>`` for the engine's store): each edge turns
    them into signed links, as for the visitor's files."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatReturned:
    """A chat on hold came back to its agent because the visitor wrote again (see
    ``business.hold``); the agent is told in the chat's window."""

    TYPE: ClassVar[str] = "hold.returned"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorIdentified:
    """The site told who the visitor is mid-chat (``ChatEngine.identify``, see
    ``business.visitor_identify``): the agent is told what changed in the chat's window."""

    TYPE: ClassVar[str] = "visitor.identified"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    visitor: Participant
    """The visitor, with their name after the change."""
    changes: tuple[tuple[str, str], ...]
    """What changed, in order: ``name``, ``email``, ``avatar``, then the custom fields
    of ``extra``, each with its new value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleNoticed:
    """An inactivity rule reached the agent (``business.inactivity``): ``kind`` is
    ``reply_reminder`` (the visitor waits for an answer), ``rerouted`` (the chat went back
    to the queue) or ``visit_ended`` (messaging: the visit is over); ``minutes``: how
    long the silence lasted."""

    TYPE: ClassVar[str] = "idle.noticed"
    conversation_id: ConversationId
    pos: int
    created_at: datetime
    agent: Participant
    kind: str
    minutes: int


DeskEvent = (
    NoteAdded
    | OfferMade
    | OfferClosed
    | WrapUpRecorded
    | MemberJoined
    | MemberLeft
    | Transferred
    | DeskMessage
    | ChatReturned
    | Whispered
    | VisitorIdentified
    | IdleNoticed
)
"""Stored events only the agent desk sees: no ``seq``."""

StoredEvent = ConversationEvent | DeskEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingChanged:
    conversation_id: ConversationId
    sender: Participant
    composing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorRead:
    """The visitor has seen everything up to ``up_to_seq``: for the agent desk (an
    XEP-0333 ``displayed`` marker), never stored and never sent to the visitor."""

    conversation_id: ConversationId
    up_to_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorMoved:
    """The visitor of an open conversation went to another page (a new address; a
    title that changed on the same page is not a move): for the agent desk's short
    notice, never stored and never sent to the visitor (``business.visit``)."""

    conversation_id: ConversationId
    url: str
    title: str | None = None


EphemeralEvent = TypingChanged | VisitorRead | VisitorMoved
"""Published, never stored."""

DomainEvent = StoredEvent | EphemeralEvent

EVENT_TYPES: dict[str, type[ConversationEvent]] = {
    cls.TYPE: cls for cls in typing.get_args(ConversationEvent)
}
"""Every event class the visitor sees, by its wire and storage name (PROTOCOL.md)."""

DESK_EVENT_TYPES: dict[str, type[DeskEvent]] = {cls.TYPE: cls for cls in typing.get_args(DeskEvent)}
"""Every event class only agents see, by its storage name."""

_VISIBLE: frozenset[type[object]] = frozenset(EVENT_TYPES.values())


def event_type(event: StoredEvent) -> str:
    return event.TYPE


def is_visible(event: DomainEvent) -> bool:
    """Whether the visitor may see ``event`` (typing is decided by who types)."""
    return type(event) in _VISIBLE or isinstance(event, TypingChanged)
