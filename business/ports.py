"""Ports: what the business layer needs from the outside, as Protocols.

The data layer implements the repositories and the unit of work; the presentation and the
XMPP bridge implement ``ConversationNotifier``. Only business dataclasses cross these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from business.events import ConversationEvent, DomainEvent, MessagePosted
from business.model import (
    Agent,
    AgentId,
    AgentSubscription,
    Conversation,
    ConversationId,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
)


class TenantRepository(Protocol):
    async def get(self, tenant_id: TenantId) -> Tenant | None: ...

    async def add(self, tenant: Tenant) -> None: ...


class QueueRepository(Protocol):
    async def get(self, tenant_id: TenantId, name: QueueName) -> Queue | None: ...

    async def add(self, queue: Queue) -> None: ...

    async def list(self, tenant_id: TenantId) -> Sequence[Queue]: ...


class VisitorRepository(Protocol):
    async def get(self, visitor_id: VisitorId) -> Visitor | None: ...

    async def get_by_token_hash(self, tenant_id: TenantId, token_hash: str) -> Visitor | None:
        """The visitor whose token hashes to ``token_hash`` (tokens are never stored)."""
        ...

    async def add(self, visitor: Visitor, token_hash: str) -> None: ...


class ConversationRepository(Protocol):
    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Conversation | None:
        """``for_update`` locks the row until commit where the database can (PostgreSQL);
        every change that allocates a ``seq`` reads the conversation this way."""
        ...

    async def add(self, conversation: Conversation) -> None: ...

    async def save(self, conversation: Conversation) -> None:
        """Write every mutable field of an existing conversation."""
        ...

    async def list_for_visitor(self, visitor_id: VisitorId) -> Sequence[Conversation]:
        """Newest first."""
        ...

    async def list_queued(
        self, tenant_id: TenantId, queue: QueueName, *, for_update: bool = False
    ) -> Sequence[Conversation]:
        """Queued conversations of one queue, longest waiting first."""
        ...

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        """Active conversations per agent (agents with none may be missing)."""
        ...

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Conversations with an agent whose ``agent_delivered_seq < last_seq``."""
        ...


class EventRepository(Protocol):
    async def add(self, event: ConversationEvent) -> None:
        """Store one event; UNIQUE (conversation_id, seq) and, for messages,
        UNIQUE (conversation_id, client_msg_id)."""
        ...

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        """Events with ``seq > after_seq`` in ``seq`` order, at most ``limit``."""
        ...

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | None: ...

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        """Messages newer than ``after_seq`` not sent by ``exclude_kind`` (unread count)."""
        ...


class AgentRepository(Protocol):
    async def get(self, agent_id: AgentId) -> Agent | None: ...

    async def add(self, agent: Agent) -> None: ...

    async def save(self, agent: Agent) -> None: ...

    async def list(self, tenant_id: TenantId | None = None) -> Sequence[Agent]: ...

    async def list_for_queue(self, tenant_id: TenantId, queue: QueueName) -> Sequence[Agent]: ...

    async def get_subscription(
        self, agent_id: AgentId, queue: QueueName
    ) -> AgentSubscription | None: ...

    async def save_subscription(self, subscription: AgentSubscription) -> None:
        """Insert or update."""
        ...

    async def list_subscriptions(self) -> Sequence[AgentSubscription]: ...


class UnitOfWork(Protocol):
    """One transaction. Repositories flush; only ``commit`` makes changes durable.

    Leaving the ``async with`` block without ``commit`` rolls back.
    """

    # Read-only members, so an implementation may hold its own repository classes (a
    # plain attribute of a subtype satisfies them; a mutable protocol member would not).
    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def queues(self) -> QueueRepository: ...

    @property
    def visitors(self) -> VisitorRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class ConversationNotifier(Protocol):
    """Receives events after they are committed (or, for typing, right away).

    Implementations must not raise for delivery problems of their own: the change is
    already durable, and a reconnecting peer replays from the store.
    """

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC."""
        ...
