"""SQL implementations of the repository ports in ``business.ports``.

Repositories flush and never commit: the unit of work owns the transaction. They take
and return business dataclasses only; no ORM row leaves this module.

Every read uses ``populate_existing`` so that a repeated read in one transaction returns
what the database holds now (for example after a ``FOR UPDATE`` lock was granted) and
not an older copy from the session's identity map.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar, assert_never

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from business.events import (
    EVENT_TYPES,
    ConversationEvent,
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
)
from business.model import (
    Agent,
    AgentId,
    AgentSubscription,
    Conversation,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorContext,
    VisitorId,
)
from data.cache import Caches, EntityCache
from data.models import (
    AgentQueueRow,
    AgentRow,
    AgentSubscriptionRow,
    ConversationRow,
    EventRow,
    QueueRow,
    TenantRow,
    VisitorRow,
)

_MESSAGE = EVENT_TYPES[MessagePosted]
_JOINED = EVENT_TYPES[ParticipantJoined]
_LEFT = EVENT_TYPES[ParticipantLeft]
_STATE = EVENT_TYPES[StateChanged]
_READ = EVENT_TYPES[ReadMarked]


class SqlContext:
    """What the repositories of one unit of work share: its session, the database's
    caches, and the cache keys this unit of work has written since its last commit."""

    def __init__(self, *, caches: Caches, dialect: str) -> None:
        self.caches = caches
        self.dialect = dialect
        self.written_tenants: set[TenantId] = set()
        self.written_agents: set[AgentId] = set()
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            # Outside ``async with`` no transaction (and on SQLite no writer slot) is held.
            raise RuntimeError("a unit of work is only usable inside 'async with'")
        return self._session

    def open(self, session: AsyncSession) -> None:
        self._session = session
        self.forget_writes()

    def close(self) -> None:
        self._session = None
        self.forget_writes()

    def invalidate_writes(self) -> None:
        """Drop what this unit of work wrote from the caches (called when it commits)."""
        if self.written_tenants:
            self.caches.tenants.invalidate(self.written_tenants)
        if self.written_agents:
            self.caches.agents.invalidate(self.written_agents)
        self.forget_writes()

    def forget_writes(self) -> None:
        # Without a commit nothing written reached the database, and nothing written
        # was put in a cache, so the cached values are still the committed ones.
        self.written_tenants = set()
        self.written_agents = set()


_Row = TypeVar("_Row")


async def _all(session: AsyncSession, stmt: Select[_Row]) -> Sequence[_Row]:
    result = await session.scalars(stmt.execution_options(populate_existing=True))
    return result.all()


# -- tenants and queues -----------------------------------------------------------------


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(id=TenantId(row.id), name=row.name, created_at=row.created_at)


_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")
_R = TypeVar("_R")


async def _read_through(
    ctx: SqlContext,
    cache: EntityCache[_K, _V],
    written: set[_K],
    row_type: type[_R],
    key: _K,
    convert: Callable[[_R], _V],
) -> _V | None:
    """Read ``key`` through ``cache``.

    A unit of work that wrote the key neither trusts nor fills the cache (it would see or
    publish its own uncommitted value); a fill is refused when an invalidation happened
    since the read began (the generation), so a stale row never lands in the cache.
    """
    own_write = key in written
    if not own_write and (hit := cache.get(key)) is not None:
        return hit
    generation = cache.generation
    row = await ctx.session.get(row_type, key, populate_existing=True)
    if row is None:
        return None
    value = convert(row)
    if not own_write:
        cache.fill(key, value, generation)
    return value


class SqlTenantRepository:
    """Tenants by id, read through the database's tenant cache."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId) -> Tenant | None:
        ctx = self._ctx
        return await _read_through(
            ctx, ctx.caches.tenants, ctx.written_tenants, TenantRow, tenant_id, _tenant
        )

    async def add(self, tenant: Tenant) -> None:
        self._ctx.written_tenants.add(tenant.id)
        self._ctx.session.add(
            TenantRow(id=tenant.id, name=tenant.name, created_at=tenant.created_at)
        )
        await self._ctx.session.flush()


def _queue(row: QueueRow) -> Queue:
    return Queue(tenant_id=TenantId(row.tenant_id), name=QueueName(row.name), title=row.title)


class SqlQueueRepository:
    """Queues, keyed by (tenant, name); ``list`` is ordered by name."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, tenant_id: TenantId, name: QueueName) -> Queue | None:
        row = await self._ctx.session.get(QueueRow, (tenant_id, name), populate_existing=True)
        return None if row is None else _queue(row)

    async def add(self, queue: Queue) -> None:
        self._ctx.session.add(
            QueueRow(tenant_id=queue.tenant_id, name=queue.name, title=queue.title)
        )
        await self._ctx.session.flush()

    async def list(self, tenant_id: TenantId) -> Sequence[Queue]:
        """Ordered by name."""
        stmt = select(QueueRow).where(QueueRow.tenant_id == tenant_id).order_by(QueueRow.name)
        return [_queue(row) for row in await _all(self._ctx.session, stmt)]


# -- visitors ---------------------------------------------------------------------------


def _visitor(row: VisitorRow) -> Visitor:
    return Visitor(
        id=VisitorId(row.id),
        tenant_id=TenantId(row.tenant_id),
        created_at=row.created_at,
        name=row.name,
    )


class SqlVisitorRepository:
    """Visitors; a token hash is unique per tenant (a duplicate is an IntegrityError)."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, visitor_id: VisitorId) -> Visitor | None:
        row = await self._ctx.session.get(VisitorRow, visitor_id, populate_existing=True)
        return None if row is None else _visitor(row)

    async def get_by_token_hash(self, tenant_id: TenantId, token_hash: str) -> Visitor | None:
        stmt = select(VisitorRow).where(
            VisitorRow.tenant_id == tenant_id, VisitorRow.token_hash == token_hash
        )
        rows = await _all(self._ctx.session, stmt)
        return _visitor(rows[0]) if rows else None

    async def add(self, visitor: Visitor, token_hash: str) -> None:
        self._ctx.session.add(
            VisitorRow(
                id=visitor.id,
                tenant_id=visitor.tenant_id,
                token_hash=token_hash,
                created_at=visitor.created_at,
                name=visitor.name,
            )
        )
        await self._ctx.session.flush()


# -- conversations ----------------------------------------------------------------------


def _context_to_json(context: VisitorContext) -> dict[str, Any]:
    return {
        "page_url": context.page_url,
        "page_title": context.page_title,
        "referrer": context.referrer,
        "custom": dict(context.custom),
    }


def _context_from_json(data: Mapping[str, Any]) -> VisitorContext:
    return VisitorContext(
        page_url=data.get("page_url"),
        page_title=data.get("page_title"),
        referrer=data.get("referrer"),
        custom=dict(data.get("custom") or {}),
    )


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=ConversationId(row.id),
        tenant_id=TenantId(row.tenant_id),
        visitor_id=VisitorId(row.visitor_id),
        visitor_name=row.visitor_name,
        queue=QueueName(row.queue),
        state=ConversationState(row.state),
        created_at=row.created_at,
        context=_context_from_json(row.context),
        form=dict(row.form),
        agent_id=None if row.agent_id is None else AgentId(row.agent_id),
        agent_name=row.agent_name,
        last_seq=row.last_seq,
        visitor_read_seq=row.visitor_read_seq,
        agent_delivered_seq=row.agent_delivered_seq,
        queue_position=row.queue_position,
        assigned_at=row.assigned_at,
        ended_at=row.ended_at,
    )


def _write_conversation(row: ConversationRow, conv: Conversation) -> None:
    row.tenant_id = conv.tenant_id
    row.visitor_id = conv.visitor_id
    row.visitor_name = conv.visitor_name
    row.queue = conv.queue
    row.state = conv.state.value
    row.created_at = conv.created_at
    row.context = _context_to_json(conv.context)
    row.form = dict(conv.form)
    row.agent_id = conv.agent_id
    row.agent_name = conv.agent_name
    row.last_seq = conv.last_seq
    row.visitor_read_seq = conv.visitor_read_seq
    row.agent_delivered_seq = conv.agent_delivered_seq
    row.queue_position = conv.queue_position
    row.assigned_at = conv.assigned_at
    row.ended_at = conv.ended_at


class SqlConversationRepository:
    """Conversations. ``for_update`` reads take a row lock on PostgreSQL; on SQLite the
    unit of work already holds the only writer slot, so the lock clause is omitted."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Conversation | None:
        row = await self._ctx.session.get(
            ConversationRow, conversation_id, populate_existing=True, with_for_update=for_update
        )
        return None if row is None else _conversation(row)

    async def add(self, conversation: Conversation) -> None:
        row = ConversationRow(id=conversation.id)
        _write_conversation(row, conversation)
        self._ctx.session.add(row)
        await self._ctx.session.flush()

    async def save(self, conversation: Conversation) -> None:
        """Write every field but the id; a conversation that was never added is a KeyError."""
        # Business code has read the row in this transaction already, so this is
        # normally answered from the identity map without a SELECT.
        row = await self._ctx.session.get(ConversationRow, conversation.id)
        if row is None:
            raise KeyError(conversation.id)
        _write_conversation(row, conversation)
        await self._ctx.session.flush()

    async def list_for_visitor(self, visitor_id: VisitorId) -> Sequence[Conversation]:
        """Newest first (id breaks ties)."""
        stmt = (
            select(ConversationRow)
            .where(ConversationRow.visitor_id == visitor_id)
            .order_by(ConversationRow.created_at.desc(), ConversationRow.id.desc())
        )
        return [_conversation(row) for row in await _all(self._ctx.session, stmt)]

    async def list_queued(
        self, tenant_id: TenantId, queue: QueueName, *, for_update: bool = False
    ) -> Sequence[Conversation]:
        """Longest waiting first (id breaks ties)."""
        stmt = (
            select(ConversationRow)
            .where(
                ConversationRow.tenant_id == tenant_id,
                ConversationRow.queue == queue,
                ConversationRow.state == ConversationState.QUEUED.value,
            )
            .order_by(ConversationRow.created_at, ConversationRow.id)
        )
        if for_update:
            stmt = stmt.with_for_update()
        return [_conversation(row) for row in await _all(self._ctx.session, stmt)]

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        if not agent_ids:
            return {}
        stmt = (
            select(ConversationRow.agent_id, func.count())
            .where(
                ConversationRow.tenant_id == tenant_id,
                ConversationRow.state == ConversationState.ACTIVE.value,
                ConversationRow.agent_id.in_(list(agent_ids)),
            )
            .group_by(ConversationRow.agent_id)
        )
        result = await self._ctx.session.execute(stmt)
        return {AgentId(agent_id): count for agent_id, count in result if agent_id}

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Oldest first (id breaks ties)."""
        stmt = (
            select(ConversationRow)
            .where(
                ConversationRow.agent_id.is_not(None),
                ConversationRow.agent_delivered_seq < ConversationRow.last_seq,
            )
            .order_by(ConversationRow.created_at, ConversationRow.id)
        )
        return [_conversation(row) for row in await _all(self._ctx.session, stmt)]


# -- events -----------------------------------------------------------------------------


def _event_row(event: ConversationEvent) -> EventRow:
    row = EventRow(
        conversation_id=event.conversation_id,
        seq=event.seq,
        created_at=event.created_at,
        event_id=None,
        client_msg_id=None,
        text=None,
        payload={},
    )
    who: Participant | None
    match event:
        case MessagePosted():
            row.type = _MESSAGE
            row.event_id = event.id
            row.client_msg_id = event.client_msg_id
            row.text = event.text
            row.payload = {"attachments": list(event.attachments)}
            who = event.sender
        case ParticipantJoined():
            row.type = _JOINED
            who = event.participant
        case ParticipantLeft():
            row.type = _LEFT
            who = event.participant
        case StateChanged():
            row.type = _STATE
            row.payload = {"state": event.state.value, "queue_position": event.queue_position}
            who = None
        case ReadMarked():
            row.type = _READ
            row.payload = {"up_to_seq": event.up_to_seq}
            who = event.by
        case _:
            assert_never(event)
    row.sender_kind = None if who is None else who.kind.value
    row.sender_name = None if who is None else who.name
    row.sender_id = None if who is None else who.id
    return row


def _participant(row: EventRow) -> Participant:
    if row.sender_kind is None or row.sender_name is None:
        raise ValueError(f"event {row.conversation_id}/{row.seq} has no participant")
    return Participant(
        kind=ParticipantKind(row.sender_kind), name=row.sender_name, id=row.sender_id
    )


def _event(row: EventRow) -> ConversationEvent:
    conversation_id = ConversationId(row.conversation_id)
    if row.type == _MESSAGE:
        if row.event_id is None or row.text is None:
            raise ValueError(f"message {row.conversation_id}/{row.seq} lacks its id or text")
        return MessagePosted(
            conversation_id=conversation_id,
            seq=row.seq,
            created_at=row.created_at,
            id=EventId(row.event_id),
            sender=_participant(row),
            text=row.text,
            client_msg_id=row.client_msg_id,
            attachments=tuple(row.payload.get("attachments", ())),
        )
    if row.type == _JOINED:
        return ParticipantJoined(
            conversation_id=conversation_id,
            seq=row.seq,
            created_at=row.created_at,
            participant=_participant(row),
        )
    if row.type == _LEFT:
        return ParticipantLeft(
            conversation_id=conversation_id,
            seq=row.seq,
            created_at=row.created_at,
            participant=_participant(row),
        )
    if row.type == _STATE:
        return StateChanged(
            conversation_id=conversation_id,
            seq=row.seq,
            created_at=row.created_at,
            state=ConversationState(row.payload["state"]),
            queue_position=row.payload.get("queue_position"),
        )
    if row.type == _READ:
        return ReadMarked(
            conversation_id=conversation_id,
            seq=row.seq,
            created_at=row.created_at,
            by=_participant(row),
            up_to_seq=int(row.payload["up_to_seq"]),
        )
    raise ValueError(f"unknown event type {row.type!r} at {row.conversation_id}/{row.seq}")


class SqlEventRepository:
    """Stored conversation events.

    ``add`` of a seq or a message ``client_msg_id`` that the conversation already has
    raises ``sqlalchemy.exc.IntegrityError`` and leaves the transaction unusable; the
    unit of work then rolls back. In business code neither can happen: every writer
    reads the conversation ``for_update`` first, which serialises writers on the row
    lock (PostgreSQL) or the writer slot (SQLite), and a message writer looks its
    ``client_msg_id`` up after taking that lock, so a concurrent retry finds the stored
    message instead of inserting it again. An IntegrityError here therefore means a bug
    or a foreign writer, and it is left to propagate rather than be papered over.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, event: ConversationEvent) -> None:
        self._ctx.session.add(_event_row(event))
        await self._ctx.session.flush()

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        stmt = (
            select(EventRow)
            .where(EventRow.conversation_id == conversation_id, EventRow.seq > after_seq)
            .order_by(EventRow.seq)
            .limit(max(limit, 0))
        )
        return [_event(row) for row in await _all(self._ctx.session, stmt)]

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | None:
        stmt = select(EventRow).where(
            EventRow.conversation_id == conversation_id,
            EventRow.client_msg_id == client_msg_id,
            EventRow.type == _MESSAGE,
        )
        rows = await _all(self._ctx.session, stmt)
        if not rows:
            return None
        event = _event(rows[0])
        assert isinstance(event, MessagePosted)
        return event

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        stmt = select(func.count()).where(
            EventRow.conversation_id == conversation_id,
            EventRow.seq > after_seq,
            EventRow.type == _MESSAGE,
            EventRow.sender_kind != exclude_kind,
        )
        return int(await self._ctx.session.scalar(stmt) or 0)


# -- agents -----------------------------------------------------------------------------


def _agent(row: AgentRow) -> Agent:
    return Agent(
        id=AgentId(row.id),
        tenant_id=TenantId(row.tenant_id),
        name=row.name,
        max_chats=row.max_chats,
        queues=tuple(QueueName(q.queue) for q in row.queues),
        ready=row.ready,
        ready_since=row.ready_since,
        last_routed_at=row.last_routed_at,
    )


def _queue_rows(agent: Agent) -> list[AgentQueueRow]:
    return [AgentQueueRow(position=i, queue=queue) for i, queue in enumerate(agent.queues)]


def _subscription(row: AgentSubscriptionRow) -> AgentSubscription:
    return AgentSubscription(
        agent_id=AgentId(row.agent_id),
        queue=QueueName(row.queue),
        agent_sees_queue=row.agent_sees_queue,
        queue_sees_agent=row.queue_sees_agent,
    )


class SqlAgentRepository:
    """Agents (by id through the database's agent cache) and presence subscriptions.

    Lists are ordered by agent id; an agent's ``queues`` keep their configured order.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, agent_id: AgentId) -> Agent | None:
        ctx = self._ctx
        return await _read_through(
            ctx, ctx.caches.agents, ctx.written_agents, AgentRow, agent_id, _agent
        )

    async def add(self, agent: Agent) -> None:
        self._ctx.written_agents.add(agent.id)
        self._ctx.session.add(
            AgentRow(
                id=agent.id,
                tenant_id=agent.tenant_id,
                name=agent.name,
                max_chats=agent.max_chats,
                ready=agent.ready,
                ready_since=agent.ready_since,
                last_routed_at=agent.last_routed_at,
                queues=_queue_rows(agent),
            )
        )
        await self._ctx.session.flush()

    async def save(self, agent: Agent) -> None:
        """Write every field but the id; an agent that was never added is a KeyError."""
        self._ctx.written_agents.add(agent.id)
        row = await self._ctx.session.get(AgentRow, agent.id)
        if row is None:
            raise KeyError(agent.id)
        row.tenant_id = agent.tenant_id
        row.name = agent.name
        row.max_chats = agent.max_chats
        row.ready = agent.ready
        row.ready_since = agent.ready_since
        row.last_routed_at = agent.last_routed_at
        # Most saves (availability, routing time) keep the queues: leave their rows be.
        if tuple(q.queue for q in row.queues) != agent.queues:
            row.queues = _queue_rows(agent)
        await self._ctx.session.flush()

    async def list(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        stmt = select(AgentRow).order_by(AgentRow.id)
        if tenant_id is not None:
            stmt = stmt.where(AgentRow.tenant_id == tenant_id)
        return [_agent(row) for row in await _all(self._ctx.session, stmt)]

    async def list_for_queue(self, tenant_id: TenantId, queue: QueueName) -> Sequence[Agent]:
        serves_queue: ColumnElement[bool] = AgentRow.id.in_(
            select(AgentQueueRow.agent_id).where(AgentQueueRow.queue == queue)
        )
        stmt = (
            select(AgentRow)
            .where(AgentRow.tenant_id == tenant_id, serves_queue)
            .order_by(AgentRow.id)
        )
        return [_agent(row) for row in await _all(self._ctx.session, stmt)]

    async def get_subscription(
        self, agent_id: AgentId, queue: QueueName
    ) -> AgentSubscription | None:
        row = await self._ctx.session.get(
            AgentSubscriptionRow, (agent_id, queue), populate_existing=True
        )
        return None if row is None else _subscription(row)

    async def save_subscription(self, subscription: AgentSubscription) -> None:
        """Insert or update in one statement, so two concurrent first saves cannot both
        try to insert (a read-then-insert would fail one of them on PostgreSQL)."""
        values = {
            "agent_id": subscription.agent_id,
            "queue": subscription.queue,
            "agent_sees_queue": subscription.agent_sees_queue,
            "queue_sees_agent": subscription.queue_sees_agent,
        }
        changes = {
            "agent_sees_queue": subscription.agent_sees_queue,
            "queue_sees_agent": subscription.queue_sees_agent,
        }
        keys = [AgentSubscriptionRow.agent_id, AgentSubscriptionRow.queue]
        if self._ctx.dialect == "postgresql":
            pg = postgresql_insert(AgentSubscriptionRow).values(values)
            await self._ctx.session.execute(
                pg.on_conflict_do_update(index_elements=keys, set_=changes)
            )
        else:
            lite = sqlite_insert(AgentSubscriptionRow).values(values)
            await self._ctx.session.execute(
                lite.on_conflict_do_update(index_elements=keys, set_=changes)
            )

    async def list_subscriptions(self) -> Sequence[AgentSubscription]:
        """Ordered by agent id, then queue."""
        stmt = select(AgentSubscriptionRow).order_by(
            AgentSubscriptionRow.agent_id, AgentSubscriptionRow.queue
        )
        return [_subscription(row) for row in await _all(self._ctx.session, stmt)]
