"""What an integrator (the REST API, an external bot) asks about conversations and
visitors, and asks to be done to them: queries and commands.

Every one names the caller's tenant. Whatever belongs to another tenant is ``NotFound``,
exactly as an id that does not exist: a caller can never tell the two apart. An
integrator acts as a bot or as the system (``actor``: a ``Participant`` of kind ``bot``
or ``system``), never as an agent or the visitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from business.bot_model import QuickReply
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from business.rich import Rich

SYSTEM = Participant(kind=ParticipantKind.SYSTEM, name="System")
"""The actor when an integrator names none."""

DEFAULT_PAGE = 50
MAX_PAGE = 100
"""A page of conversations holds 1 to ``MAX_PAGE`` of them (``DEFAULT_PAGE`` unless
asked)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchConversations:
    """A tenant's conversations, newest first; every filter given must hold."""

    tenant_id: TenantId
    states: tuple[ConversationState, ...] = ()
    """In any of these states; empty: any state."""
    queue: QueueName | None = None
    agent_id: AgentId | None = None
    """Whose they are (their owner; an ended one keeps the agent it had last)."""
    visitor_id: VisitorId | None = None
    since: datetime | None = None
    """Created at or after (timezone-aware)."""
    until: datetime | None = None
    """Created before (timezone-aware)."""
    cursor: str | None = None
    """A previous page's ``next_cursor``: the page after it."""
    limit: int = DEFAULT_PAGE
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadEvents:
    """The events the visitor sees, after ``after_seq``, in ``seq`` order (as ``sync``)."""

    tenant_id: TenantId
    conversation_id: ConversationId
    after_seq: int = 0
    limit: int | None = None
    """At most this many (1 to ``Limits.max_sync_events``); None: that maximum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadAllEvents:
    """Every stored event, the agent desk's too (notes, offers, consult messages,
    whispers, transfers, wrap-ups), after ``after_pos``, in ``pos`` order. For callers
    allowed to read what the visitor must not."""

    tenant_id: TenantId
    conversation_id: ConversationId
    after_pos: int = 0
    limit: int | None = None
    """As ``ReadEvents.limit``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PostIntegratorMessage:
    """A message into an open conversation as a bot or the system: the visitor and the
    agents in it get it like any other."""

    tenant_id: TenantId
    conversation_id: ConversationId
    sender: Participant
    """Kind ``bot`` or ``system``, with the name shown; its ``id`` (the bot's own, if
    any) is stored, never shown."""
    client_msg_id: str
    """The caller's id for it: a retry with the same one returns the stored message."""
    text: str
    attachments: tuple[str, ...] = ()
    """Files by URL; ``text`` may then be empty."""
    quick_replies: tuple[QuickReply, ...] = ()
    """Buttons under the message (a bot's only), as the rules bot's menu: a click sends
    the label as the visitor's message. Checked by ``business.bot_config``'s rules."""
    rich: Rich | None = None
    """Rich content under the message (``business.rich``, checked when parsed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EndByIntegrator:
    tenant_id: TenantId
    conversation_id: ConversationId
    actor: Participant = SYSTEM
    reason: str | None = None
    """Stored with the end for the agent desk and reports (a wrap-up note by the actor);
    the visitor does not see it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferByIntegrator:
    """Hand a conversation to a queue or offer it to an agent: exactly one of ``queue``
    and ``agent_address``."""

    tenant_id: TenantId
    conversation_id: ConversationId
    actor: Participant = SYSTEM
    queue: QueueName | None = None
    agent_address: str | None = None
    note: str | None = None
    """Shown to the agent it is offered to, and to the agent who had it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ListVisitorConversations:
    """One visitor's conversations, newest first."""

    tenant_id: TenantId
    visitor_id: VisitorId
    cursor: str | None = None
    limit: int = DEFAULT_PAGE
