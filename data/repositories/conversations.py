"""Conversations and their stored events (the conversation aggregate)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Select, Table, func, insert, select, update

from business.conversation import Conversation
from business.errors import Conflict
from business.events import ConversationEvent, MessagePosted
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from data.codecs import decode_event, encode_event
from data.models import ConversationRow, EventRow
from data.repositories.base import SqlContext


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


class _ConversationColumns(Protocol):
    """A conversations row as Core returns it."""

    id: str
    tenant_id: str
    visitor_id: str
    visitor_name: str
    queue: str
    state: str
    created_at: datetime
    context: Mapping[str, Any]
    form: Mapping[str, Any]
    agent_id: str | None
    agent_name: str | None
    last_seq: int
    visitor_read_seq: int
    agent_delivered_seq: int
    queue_position: int | None
    assigned_at: datetime | None
    ended_at: datetime | None


def _conversation(row: _ConversationColumns) -> Conversation:
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


def _mutable_columns(conv: Conversation) -> dict[str, Any]:
    return {
        "visitor_name": conv.visitor_name,
        "state": conv.state.value,
        "context": _context_to_json(conv.context),
        "form": dict(conv.form),
        "agent_id": conv.agent_id,
        "agent_name": conv.agent_name,
        "last_seq": conv.last_seq,
        "visitor_read_seq": conv.visitor_read_seq,
        "agent_delivered_seq": conv.agent_delivered_seq,
        "queue_position": conv.queue_position,
        "assigned_at": conv.assigned_at,
        "ended_at": conv.ended_at,
    }


_T: Table = ConversationRow.__table__  # type: ignore[assignment]
_NEWEST_FIRST = (_T.c.created_at.desc(), _T.c.id.desc())


class SqlConversationRepository:
    """Conversations, in SQLAlchemy Core: no ORM session state on the message path.

    Reads come from the database's conversation cache when they can. The cache holds
    what this process committed (``SqlContext.publish_writes`` puts each written
    conversation in when its commit succeeds), so in one process it is exact; a write
    by another process is caught by ``save``, which writes only if the row still has the
    ``last_seq`` and state the change was decided on (``Conflict`` otherwise, and the
    stale entry is dropped). A unit of work sees its own writes before it commits.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Conversation | None:
        """On PostgreSQL a read ``for_update`` locks the row (and so reads it fresh):
        writers of one conversation queue there instead of failing each other's
        ``save``. SQLite has one writer at a time anyway, so the cache serves it."""
        ctx = self._ctx
        mine = ctx.written_conversations.get(conversation_id)
        if mine is not None:
            return mine
        cache = ctx.caches.conversations
        lock = for_update and ctx.dialect == "postgresql"
        if not lock and (hit := cache.get(conversation_id)) is not None:
            return hit
        generation = cache.generation
        stmt = select(_T).where(_T.c.id == conversation_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await ctx.session.execute(stmt)).first()
        if row is None:
            return None
        conv = _conversation(row)
        cache.fill(conversation_id, conv, generation)
        return conv

    async def add(self, conversation: Conversation) -> None:
        values = _mutable_columns(conversation)
        values.update(
            id=conversation.id,
            tenant_id=conversation.tenant_id,
            visitor_id=conversation.visitor_id,
            queue=conversation.queue,
            created_at=conversation.created_at,
        )
        await self._ctx.session.execute(insert(_T), values)
        self._ctx.written_conversations[conversation.id] = conversation

    async def save(self, conversation: Conversation, *, previous: Conversation) -> None:
        """Write every field but the identity; ``Conflict`` if the row moved on since
        ``previous`` was read, ``KeyError`` for one that was never added."""
        stmt = (
            update(_T)
            .where(
                _T.c.id == conversation.id,
                _T.c.last_seq == previous.last_seq,
                _T.c.state == previous.state.value,
            )
            .values(_mutable_columns(conversation))
        )
        result = await self._ctx.session.execute(stmt)
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self._ctx.caches.conversations.invalidate([conversation.id])
            exists = select(_T.c.id).where(_T.c.id == conversation.id)
            if (await self._ctx.session.execute(exists)).first() is None:
                raise KeyError(conversation.id)
            raise Conflict(f"conversation {conversation.id} changed meanwhile")
        self._ctx.written_conversations[conversation.id] = conversation

    async def _rows(self, stmt: Select[Any]) -> list[Conversation]:
        return [_conversation(row) for row in await self._ctx.session.execute(stmt)]

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        """Newest first (id breaks ties); through the (visitor, state, created_at) index,
        so a visitor's ended conversations are never read beyond the ``ended`` newest."""
        mine = _T.c.visitor_id == visitor_id
        is_ended = _T.c.state == ConversationState.ENDED.value
        found = await self._rows(select(_T).where(mine, ~is_ended).order_by(*_NEWEST_FIRST))
        if ended > 0:
            stmt = select(_T).where(mine, is_ended).order_by(*_NEWEST_FIRST).limit(ended)
            found += await self._rows(stmt)
        found.sort(key=lambda conv: (conv.created_at, conv.id), reverse=True)
        return found

    async def list_queued(
        self,
        tenant_id: TenantId,
        queue: QueueName,
        *,
        limit: int,
        for_update: bool = False,
    ) -> Sequence[Conversation]:
        """Longest waiting first (id breaks ties); read through the queue index, so the
        cost is the ``limit``, not the queue's length. Always from the database: what is
        routed must be what is stored."""
        stmt = (
            select(_T)
            .where(
                _T.c.tenant_id == tenant_id,
                _T.c.queue == queue,
                _T.c.state == ConversationState.QUEUED.value,
            )
            .order_by(_T.c.created_at, _T.c.id)
            .limit(max(limit, 0))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self._rows(stmt)

    async def count_active_by_agent(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        if not agent_ids:
            return {}
        stmt = (
            select(_T.c.agent_id, func.count())
            .where(
                _T.c.tenant_id == tenant_id,
                _T.c.state == ConversationState.ACTIVE.value,
                _T.c.agent_id.in_(list(agent_ids)),
            )
            .group_by(_T.c.agent_id)
        )
        result = await self._ctx.session.execute(stmt)
        return {AgentId(agent_id): count for agent_id, count in result if agent_id}

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Oldest first (id breaks ties)."""
        stmt = (
            select(_T)
            .where(_T.c.agent_id.is_not(None), _T.c.agent_delivered_seq < _T.c.last_seq)
            .order_by(_T.c.created_at, _T.c.id)
        )
        return await self._rows(stmt)


_E: Table = EventRow.__table__  # type: ignore[assignment]


class SqlEventRepository:
    """Stored conversation events, through the codecs of ``data.codecs``.

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
        await self._ctx.session.execute(insert(_E), encode_event(event))

    async def list_after(
        self, conversation_id: ConversationId, after_seq: int, limit: int
    ) -> Sequence[ConversationEvent]:
        stmt = (
            select(_E)
            .where(_E.c.conversation_id == conversation_id, _E.c.seq > after_seq)
            .order_by(_E.c.seq)
            .limit(max(limit, 0))
        )
        return [decode_event(row) for row in await self._ctx.session.execute(stmt)]

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | None:
        stmt = select(_E).where(
            _E.c.conversation_id == conversation_id,
            _E.c.client_msg_id == client_msg_id,
            _E.c.type == MessagePosted.TYPE,
        )
        row = (await self._ctx.session.execute(stmt)).first()
        if row is None:
            return None
        event = decode_event(row)
        assert isinstance(event, MessagePosted)
        return event

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        stmt = select(func.count()).where(
            _E.c.conversation_id == conversation_id,
            _E.c.seq > after_seq,
            _E.c.type == MessagePosted.TYPE,
            _E.c.sender_kind != exclude_kind,
        )
        return int(await self._ctx.session.scalar(stmt) or 0)
