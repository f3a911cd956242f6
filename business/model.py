"""Domain model: plain frozen dataclasses, no framework imports.

Entities are immutable; a change produces a new value (``dataclasses.replace``) that a
repository saves. That keeps every change explicit and lets any layer hold a value
without fearing that somebody else mutates it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType

from business.errors import InvalidTransition

TenantId = NewType("TenantId", str)
VisitorId = NewType("VisitorId", str)
ConversationId = NewType("ConversationId", str)
EventId = NewType("EventId", str)
AgentId = NewType("AgentId", str)
"""An agent is identified by the bare JID of their XMPP account."""
QueueName = NewType("QueueName", str)

DEFAULT_TENANT = TenantId("default")
DEFAULT_QUEUE = QueueName("support")


class ConversationState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


_TRANSITIONS: Mapping[ConversationState, frozenset[ConversationState]] = {
    ConversationState.QUEUED: frozenset({ConversationState.ACTIVE, ConversationState.ENDED}),
    ConversationState.ACTIVE: frozenset({ConversationState.ENDED}),
    ConversationState.ENDED: frozenset(),
}


class ParticipantKind(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    kind: ParticipantKind
    name: str
    id: str | None = None
    """Visitor id or agent JID; never shown to the other side."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    id: TenantId
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    tenant_id: TenantId
    name: QueueName
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Visitor:
    id: VisitorId
    tenant_id: TenantId
    created_at: datetime
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorContext:
    """Where the visitor is and what the site told us about them."""

    page_url: str | None = None
    page_title: str | None = None
    referrer: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)

    def merged(self, other: VisitorContext) -> VisitorContext:
        """Fields set in ``other`` win; custom variables are merged key by key."""
        return VisitorContext(
            page_url=other.page_url if other.page_url is not None else self.page_url,
            page_title=other.page_title if other.page_title is not None else self.page_title,
            referrer=other.referrer if other.referrer is not None else self.referrer,
            custom={**self.custom, **other.custom},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """One chat between a visitor and (eventually) an agent.

    Invariants: ``last_seq`` is the seq of the newest stored event, and every seq from 1
    to ``last_seq`` exists exactly once; ``agent_id`` is set whenever ``state`` is
    ``active``; ``agent_delivered_seq <= last_seq``.
    """

    id: ConversationId
    tenant_id: TenantId
    visitor_id: VisitorId
    visitor_name: str
    queue: QueueName
    state: ConversationState
    created_at: datetime
    context: VisitorContext = field(default_factory=VisitorContext)
    form: Mapping[str, str] = field(default_factory=dict)
    agent_id: AgentId | None = None
    agent_name: str | None = None
    last_seq: int = 0
    visitor_read_seq: int = 0
    agent_delivered_seq: int = 0
    """The newest seq the XMPP bridge handed to the agent's server."""
    queue_position: int | None = None
    assigned_at: datetime | None = None
    ended_at: datetime | None = None

    def transition(self, to: ConversationState, at: datetime) -> Conversation:
        if to not in _TRANSITIONS[self.state]:
            raise InvalidTransition(f"conversation is {self.state}, cannot become {to}")
        changes: dict[str, object] = {"state": to}
        if to is ConversationState.ENDED:
            changes["ended_at"] = at
            changes["queue_position"] = None
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def is_open(self) -> bool:
        return self.state is not ConversationState.ENDED


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    id: AgentId
    tenant_id: TenantId
    name: str
    max_chats: int
    queues: tuple[QueueName, ...]
    ready: bool = False
    ready_since: datetime | None = None
    last_routed_at: datetime | None = None

    def idle_since(self) -> datetime | None:
        """The later of becoming ready and getting the last chat: longest idle goes first."""
        times = [t for t in (self.ready_since, self.last_routed_at) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSubscription:
    """XMPP presence subscription state between an agent and a queue JID.

    Kept in the database because the component's roster lives in memory: without it, a
    restarted engine would answer the agent's presence probe with ``unsubscribed`` and
    cancel the subscription.
    """

    agent_id: AgentId
    queue: QueueName
    agent_sees_queue: bool = False
    """The agent is subscribed to the queue's presence (subscription 'from' for the queue)."""
    queue_sees_agent: bool = False
    """The queue is subscribed to the agent's presence ('to' for the queue)."""
