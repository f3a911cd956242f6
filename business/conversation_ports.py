"""Ports of a conversation's own storage: the conversation row (state, routing, cursors)
and its numbered events. Implemented by ``data.repositories.conversations`` and
``data.repositories.events``; reached through the unit of work (``business.ports``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from business.conversation import Conversation
from business.events import (
    ConversationEvent,
    DeskMessage,
    MessagePosted,
    StoredEvent,
)
from business.model import (
    AgentId,
    ConversationId,
    QueueName,
    TenantId,
    VisitorId,
)


class ConversationRepository(Protocol):
    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False, fresh: bool = False
    ) -> Conversation | None:
        """The conversation, possibly from a cache that the commits of this process keep
        current; ``for_update`` marks a read that a change will be decided on (``save``
        then checks that nobody changed it meanwhile); ``fresh`` reads the stored row even
        when cached (another process may have written it)."""
        ...

    async def get_many(
        self,
        conversation_ids: Sequence[ConversationId],
        *,
        for_update: bool = False,
        optimistic: bool = False,
    ) -> Mapping[ConversationId, Conversation]:
        """``get`` for several at once (missing ones are absent), in one trip for what
        the cache does not hold; locked in id order where ``get`` would lock, unless
        ``optimistic``: then the cache answers a read ``for_update`` everywhere, and a
        stale copy shows as ``Conflict`` from ``save`` (the caller decides again, not
        optimistic). For the message path, where a conversation's writers rarely race."""
        ...

    async def add(self, conversation: Conversation) -> None: ...

    async def save(self, conversation: Conversation, *, previous: Conversation) -> None:
        """Write the fields of an existing conversation that differ from ``previous``
        (the value it was read as). The row must still have ``previous``'s ``last_pos``
        and state, and in each field written ``previous``'s value: else ``Conflict``,
        nothing written. So a change decided on a cached or stale copy never overwrites
        a newer one, and what another writer changed in other fields stays. The cursors
        (``visitor_read_seq``, ``agent_delivered_pos``) only move forward: written as
        the greater of stored and new, never compared; a save that moves only them
        checks nothing else. Except for a new owner: a save that changes ``agent_id``
        writes ``agent_delivered_pos`` as given (their cursor, not the old owner's)."""
        ...

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        """The visitor's open conversations and their ``ended`` newest ended ones, newest
        first. Bounded whatever the visitor's past: at most one open per live queue and
        ``business.threads.MAX_OPEN_THREADS`` per messaging queue."""
        ...

    async def open_for_visitors(
        self, visitor_ids: Sequence[VisitorId]
    ) -> Mapping[VisitorId, Sequence[Conversation]]:
        """The open conversations of each of these visitors (absent: none), newest
        first, in one trip."""
        ...

    async def list_queued(
        self,
        tenant_id: TenantId,
        queue: QueueName,
        *,
        limit: int,
        for_update: bool = False,
    ) -> Sequence[Conversation]:
        """The ``limit`` longest-waiting queued conversations of one queue, longest first."""
        ...

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        """The chats that take a place of each agent's capacity: active ones, and open
        offers (agents with none may be missing)."""
        ...

    async def list_open_for_agent(self, agent_id: AgentId) -> Sequence[Conversation]:
        """The open conversations the agent has or is offered, oldest first."""
        ...

    async def list_offers_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        """Open conversations (queued, or active with an offer to a person) whose offer
        expired at ``now`` or before, soonest first, at most ``limit``."""
        ...

    async def list_idle_due(self, now: datetime | None, limit: int) -> Sequence[Conversation]:
        """Open conversations with an inactivity deadline (``idle_due_at``) at ``now`` or
        before (None: any), soonest first, at most ``limit``."""
        ...

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Conversations with an agent, or offered to one, whose
        ``agent_delivered_pos < last_pos``."""
        ...


class EventRepository(Protocol):
    async def add(self, event: StoredEvent) -> None:
        """Store one event; UNIQUE (conversation_id, pos), (conversation_id, seq) and,
        for messages, (conversation_id, client_msg_id). A taken pos, seq or
        client_msg_id (another writer got there first, or a message is retried) fails
        the unit of work with ``Conflict``: at the latest at commit (which then stores
        nothing), or here already."""
        ...

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        """Events the visitor sees with ``seq > after_seq`` in ``seq`` order, at most
        ``limit``."""
        ...

    async def newest_visible(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, ConversationEvent]:
        """The event with the highest ``seq`` of each of these conversations (none:
        absent), in one trip, read from the store."""
        ...

    async def list_after_pos(
        self, conversation_id: ConversationId, after_pos: int, limit: int
    ) -> Sequence[StoredEvent]:
        """Every event with ``pos > after_pos`` in ``pos`` order, at most ``limit``."""
        ...

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | DeskMessage | None:
        """The message stored with this client id: the visitor's, or a consultant's
        ``DeskMessage`` (one client id per conversation over both)."""
        ...

    async def find_messages(
        self, keys: Sequence[tuple[ConversationId, str]]
    ) -> Mapping[tuple[ConversationId, str], MessagePosted | DeskMessage]:
        """The stored messages (or desk messages) with these (conversation,
        client_msg_id), in one trip."""
        ...

    async def list_before_many(
        self, keys: Sequence[tuple[ConversationId, int]]
    ) -> Mapping[ConversationId, Sequence[StoredEvent]]:
        """For each (conversation, pos): all its events before that pos, in ``pos``
        order, in one trip for them all (a conversation absent: none stored)."""
        ...

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        """Messages newer than ``after_seq`` not sent by ``exclude_kind`` (unread count)."""
        ...
