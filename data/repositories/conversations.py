"""Conversations (the aggregate's row), in SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, or_, select

from business.conversation import Conversation
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    QueueName,
    TenantId,
    VisitorId,
)
from data.repositories.base import CONVERSATION_INSERTS, CONVERSATION_SAVES, SqlContext
from data.repositories.conversation_rows import (
    CONVERSATIONS,
    NEWEST_FIRST,
    UNCOMPARED,
    column_value,
    columns_to_save,
    conversation_from_row,
    mutable_columns,
    save_in_bulk,
    save_params,
    save_statement,
)
from data.visit_json import started_by_to_json

_T = CONVERSATIONS
# Built once: executing a prepared statement object skips building and hashing a new
# one for the compiled-statement cache on every message.
_GET = select(_T).where(_T.c.id == bindparam("id"))
_GET_LOCKED = _GET.with_for_update()
_GET_MANY = select(_T).where(_T.c.id.in_(bindparam("ids", expanding=True))).order_by(_T.c.id)
# In id order, so two writers locking several conversations never wait for each other.
_GET_MANY_LOCKED = _GET_MANY.with_for_update()
_INSERT = insert(_T)


class SqlConversationRepository:
    """Conversations, in SQLAlchemy Core: no ORM session state on the message path.

    Reads come from the database's conversation cache when they can. The cache holds
    what this process committed (``SqlContext.publish_writes`` puts each written
    conversation in when its commit succeeds), so in one process it is exact; a write
    by another process is caught by ``save``, which writes only if the row still has the
    ``last_pos`` and state the change was decided on (``Conflict`` otherwise, and the
    stale entry is dropped). A unit of work sees its own writes before it commits.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(
        self, conversation_id: ConversationId, *, for_update: bool = False, fresh: bool = False
    ) -> Conversation | None:
        """On PostgreSQL a read ``for_update`` locks the row (and so reads it fresh):
        writers of one conversation queue there instead of failing each other's
        ``save``. SQLite has one writer at a time anyway, so the cache serves it."""
        ctx = self._ctx
        if for_update:
            await ctx.hold_writer()
        behind = conversation_id in ctx.changed_behind
        mine = None if behind else ctx.written_conversations.get(conversation_id)
        if mine is not None:
            return mine
        cache = ctx.caches.conversations
        lock = for_update and ctx.dialect == "postgresql"
        if not (lock or behind or fresh) and (hit := cache.get(conversation_id)) is not None:
            return hit
        generation = cache.generation
        row = (await ctx.execute(_GET_LOCKED if lock else _GET, {"id": conversation_id})).first()
        if row is None:
            return None
        conv = conversation_from_row(row)
        if not behind:
            cache.fill(conversation_id, conv, generation)
        return conv

    async def get_many(
        self,
        conversation_ids: Sequence[ConversationId],
        *,
        for_update: bool = False,
        optimistic: bool = False,
    ) -> Mapping[ConversationId, Conversation]:
        ctx = self._ctx
        if for_update:
            await ctx.hold_writer()
        cache = ctx.caches.conversations
        lock = for_update and not optimistic and ctx.dialect == "postgresql"
        found: dict[ConversationId, Conversation] = {}
        missing = []
        for conversation_id in sorted(set(conversation_ids)):
            if conversation_id in ctx.changed_behind:
                missing.append(conversation_id)
                continue
            mine = ctx.written_conversations.get(conversation_id)
            hit = mine or (None if lock else cache.get(conversation_id))
            if hit is not None:
                found[conversation_id] = hit
            else:
                missing.append(conversation_id)
        if missing:
            generation = cache.generation
            stmt = _GET_MANY_LOCKED if lock else _GET_MANY
            for row in await ctx.execute(stmt, {"ids": missing}):
                conv = conversation_from_row(row)
                if conv.id not in ctx.changed_behind:
                    cache.fill(conv.id, conv, generation)
                found[conv.id] = conv
        return found

    async def add(self, conversation: Conversation) -> None:
        values = mutable_columns(conversation)
        values.update(
            id=conversation.id,
            tenant_id=conversation.tenant_id,
            visitor_id=conversation.visitor_id,
            queue=conversation.queue,
            created_at=conversation.created_at,
            channel=conversation.channel.value,
            provider=conversation.provider,
            external_id=conversation.external_id,
            started_by=started_by_to_json(conversation.started_by),
        )
        self._ctx.queue(_INSERT, values, order=CONVERSATION_INSERTS)
        self._ctx.written_conversations[conversation.id] = conversation
        self._ctx.decided_on[conversation.id] = None

    async def save(self, conversation: Conversation, *, previous: Conversation) -> None:
        """Write the fields that differ from ``previous``, if the row still has its
        ``last_pos`` and state and, in each field written, the value ``previous`` had:
        otherwise the flush raises ``Conflict`` and nothing of this unit of work is
        written. What others wrote meanwhile to other fields (a delivery cursor moved
        while a message was decided on an older copy) stays. Queued; it goes out with
        the next flush. A second save of the conversation before that flush replaces
        the first (compared with what the first was decided on): one row per
        conversation, however many messages a batch stores in it. A new owner
        (``agent_id`` changed) gets the owner's cursor as given, not the greater."""
        unflushed = self._ctx.unflushed_saves.pop(conversation.id, None)
        if unflushed is not None:
            stmt, row, previous = unflushed
            self._ctx.unqueue(stmt, row)
        # The columns are named as the fields; only what is needed is converted. Nothing
        # changed still checks the row is there and as read.
        columns = columns_to_save(conversation, previous) or ("last_pos",)
        params: dict[str, Any] = {}
        for name in save_params(columns):
            if name == "b_id":
                params[name] = conversation.id
            elif name.startswith("b_"):
                params[name] = column_value(previous, name[2:])
            else:
                params[name] = column_value(conversation, name)
        bulk = None
        if not self._ctx.multi_rowcount and UNCOMPARED.isdisjoint(columns):
            bulk = save_in_bulk(columns)
        stmt = save_statement(columns)
        row = self._ctx.queue(stmt, params, order=CONVERSATION_SAVES, check=True, bulk=bulk)
        self._ctx.unflushed_saves[conversation.id] = (stmt, row, previous)
        self._ctx.decided_on.setdefault(conversation.id, previous)
        self._ctx.written_conversations[conversation.id] = conversation

    async def _rows(self, stmt: Select[Any]) -> list[Conversation]:
        return [conversation_from_row(row) for row in await self._ctx.execute(stmt)]

    async def list_for_visitor(
        self, visitor_id: VisitorId, *, ended: int = 0
    ) -> Sequence[Conversation]:
        """Newest first (id breaks ties); through the (visitor, state, created_at) index,
        so a visitor's ended conversations are never read beyond the ``ended`` newest."""
        mine = _T.c.visitor_id == visitor_id
        is_ended = _T.c.state == ConversationState.ENDED.value
        found = await self._rows(select(_T).where(mine, ~is_ended).order_by(*NEWEST_FIRST))
        if ended > 0:
            stmt = select(_T).where(mine, is_ended).order_by(*NEWEST_FIRST).limit(ended)
            found += await self._rows(stmt)
        found.sort(key=lambda conv: (conv.created_at, conv.id), reverse=True)
        return found

    async def open_for_visitors(
        self, visitor_ids: Sequence[VisitorId]
    ) -> Mapping[VisitorId, Sequence[Conversation]]:
        if not visitor_ids:
            return {}
        stmt = (
            select(_T)
            .where(
                _T.c.visitor_id.in_(sorted(set(visitor_ids))),
                _T.c.state != ConversationState.ENDED.value,
            )
            .order_by(*NEWEST_FIRST)
        )
        found: dict[VisitorId, list[Conversation]] = {}
        for conv in await self._rows(stmt):
            found.setdefault(conv.visitor_id, []).append(conv)
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
        loads = {
            AgentId(agent_id): count
            for agent_id, count in await self._ctx.execute(stmt)
            if agent_id
        }
        offers = (
            select(_T.c.offered_to, func.count())
            .where(
                _T.c.tenant_id == tenant_id,
                _T.c.state == ConversationState.QUEUED.value,
                _T.c.offered_to.in_(list(agent_ids)),
            )
            .group_by(_T.c.offered_to)
        )
        for agent_id, count in await self._ctx.execute(offers):
            if agent_id:
                loads[AgentId(agent_id)] = loads.get(AgentId(agent_id), 0) + count
        return loads

    async def list_open_for_agent(self, agent_id: AgentId) -> Sequence[Conversation]:
        stmt = (
            select(_T)
            .where(
                or_(_T.c.agent_id == agent_id, _T.c.offered_to == agent_id),
                _T.c.state != ConversationState.ENDED.value,
            )
            .order_by(_T.c.created_at, _T.c.id)
        )
        return await self._rows(stmt)

    async def list_offers_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        """Open conversations (queued, or active with an offer to a person) whose offer
        expired at ``now`` or before, soonest first (through the index on
        ``offer_expires_at``)."""
        stmt = (
            select(_T)
            .where(
                _T.c.offer_expires_at <= now,
                _T.c.state != ConversationState.ENDED.value,
            )
            .order_by(_T.c.offer_expires_at, _T.c.id)
            .limit(max(limit, 0))
        )
        return await self._rows(stmt)

    async def list_idle_due(self, now: datetime | None, limit: int) -> Sequence[Conversation]:
        """Through the index on ``idle_due_at`` (migration 0029)."""
        where = [_T.c.idle_due_at.is_not(None), _T.c.state != ConversationState.ENDED.value]
        if now is not None:
            where.append(_T.c.idle_due_at <= now)
        stmt = select(_T).where(*where).order_by(_T.c.idle_due_at, _T.c.id).limit(max(limit, 0))
        return await self._rows(stmt)

    async def list_undelivered_to_agents(self) -> Sequence[Conversation]:
        """Oldest first (id breaks ties)."""
        stmt = (
            select(_T)
            .where(
                or_(_T.c.agent_id.is_not(None), _T.c.offered_to.is_not(None)),
                _T.c.agent_delivered_pos < _T.c.last_pos,
            )
            .order_by(_T.c.created_at, _T.c.id)
        )
        return await self._rows(stmt)
