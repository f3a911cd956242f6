"""Conversations and their stored events (the conversation aggregate)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select

from business.conversation import Conversation
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
from data.repositories.base import SqlContext, all_rows


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

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        """Newest first (id breaks ties); through the (visitor, state, created_at) index,
        so a visitor's ended conversations are never read beyond the ``ended`` newest."""
        newest_first = (ConversationRow.created_at.desc(), ConversationRow.id.desc())
        mine = ConversationRow.visitor_id == visitor_id
        is_ended = ConversationRow.state == ConversationState.ENDED.value
        found = list(
            await all_rows(
                self._ctx.session,
                select(ConversationRow).where(mine, ~is_ended).order_by(*newest_first),
            )
        )
        if ended > 0:
            stmt = select(ConversationRow).where(mine, is_ended).order_by(*newest_first)
            found += await all_rows(self._ctx.session, stmt.limit(ended))
        found.sort(key=lambda row: (row.created_at, row.id), reverse=True)
        return [_conversation(row) for row in found]

    async def list_queued(
        self,
        tenant_id: TenantId,
        queue: QueueName,
        *,
        limit: int,
        for_update: bool = False,
    ) -> Sequence[Conversation]:
        """Longest waiting first (id breaks ties); read through the queue index, so the
        cost is the ``limit``, not the queue's length."""
        stmt = (
            select(ConversationRow)
            .where(
                ConversationRow.tenant_id == tenant_id,
                ConversationRow.queue == queue,
                ConversationRow.state == ConversationState.QUEUED.value,
            )
            .order_by(ConversationRow.created_at, ConversationRow.id)
            .limit(max(limit, 0))
        )
        if for_update:
            stmt = stmt.with_for_update()
        return [_conversation(row) for row in await all_rows(self._ctx.session, stmt)]

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
        return [_conversation(row) for row in await all_rows(self._ctx.session, stmt)]


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
        self._ctx.session.add(EventRow(**encode_event(event)))
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
        return [decode_event(row) for row in await all_rows(self._ctx.session, stmt)]

    async def get_message_by_client_id(
        self, conversation_id: ConversationId, client_msg_id: str
    ) -> MessagePosted | None:
        stmt = select(EventRow).where(
            EventRow.conversation_id == conversation_id,
            EventRow.client_msg_id == client_msg_id,
            EventRow.type == MessagePosted.TYPE,
        )
        rows = await all_rows(self._ctx.session, stmt)
        if not rows:
            return None
        event = decode_event(rows[0])
        assert isinstance(event, MessagePosted)
        return event

    async def count_messages_after(
        self, conversation_id: ConversationId, after_seq: int, exclude_kind: str
    ) -> int:
        stmt = select(func.count()).where(
            EventRow.conversation_id == conversation_id,
            EventRow.seq > after_seq,
            EventRow.type == MessagePosted.TYPE,
            EventRow.sender_kind != exclude_kind,
        )
        return int(await self._ctx.session.scalar(stmt) or 0)
