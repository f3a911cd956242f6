"""The port the integrators' conversation queries read through
(``business.conversation_queries``), apart from ``business.ports`` to keep that module
readable; ``business.ports.UnitOfWork`` offers it as ``conversation_queries``.

Only reads: a search over a tenant's conversations, newest first, paged by the key
(``created_at``, ``id``) of the last one seen, and the counts shown with one
conversation. Nothing here goes through the conversation cache: what an integrator
lists is what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from business.conversation import Conversation
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
    VisitorId,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationCriteria:
    """Which of one tenant's conversations a search returns: all the criteria set hold
    (a criterion left empty or None does not filter)."""

    tenant_id: TenantId
    states: frozenset[ConversationState] = frozenset()
    """Any of these states; empty: every state."""
    queue: QueueName | None = None
    agent_id: AgentId | None = None
    """Its owner (``Conversation.agent_id``): the agent who has it, or had it last."""
    visitor_id: VisitorId | None = None
    since: datetime | None = None
    """Created at this instant or later."""
    until: datetime | None = None
    """Created before this instant."""
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationKey:
    """Where a conversation stands in the newest-first order: ``created_at``, then ``id``
    (descending both) for conversations created in the same microsecond."""

    created_at: datetime
    id: ConversationId

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationKey:
        return cls(created_at=conversation.created_at, id=conversation.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCounts:
    """The messages stored in one conversation, by who wrote them, and its notes."""

    visitor: int = 0
    agent: int = 0
    """Messages the visitor saw from agents (the owner, invited agents, supervisors who
    barged in); a consultant's ``desk.message`` is not one."""
    bot: int = 0
    system: int = 0
    notes: int = 0


class ConversationQueryRepository(Protocol):
    async def search(
        self, criteria: ConversationCriteria, *, after: ConversationKey | None, limit: int
    ) -> Sequence[Conversation]:
        """At most ``limit`` conversations matching ``criteria``, newest first (by
        ``created_at``, then ``id``, both descending), only those after ``after`` in
        that order when it is given. Keyset paging: a page costs the same however deep
        it is, and a conversation started meanwhile never shifts the pages after it."""
        ...

    async def message_counts(self, conversation_id: ConversationId) -> MessageCounts:
        """Counted over that conversation's stored events (zeros for an unknown one)."""
        ...
