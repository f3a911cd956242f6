"""The integrators' reads of conversations (``business.conversation_query_ports``), in
SQLAlchemy Core, straight from the database (never the conversation cache: a search
must see what other processes stored)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, literal, select, tuple_

from business.conversation import Conversation
from business.conversation_query_ports import (
    ConversationCriteria,
    ConversationKey,
    MessageCounts,
)
from business.events import MessagePosted, NoteAdded
from business.model import ConversationId, ParticipantKind
from data.models import EventRow
from data.repositories.base import SqlContext
from data.repositories.conversation_rows import (
    CONVERSATIONS,
    NEWEST_FIRST,
    conversation_from_row,
)

_T = CONVERSATIONS
_E: Table = EventRow.__table__  # type: ignore[assignment]
_COUNTED = (MessagePosted.TYPE, NoteAdded.TYPE)


class SqlConversationQueryRepository:
    """Searches through the (tenant_id, created_at, id) index, walked backwards from the
    cursor's key; a filter on queue and state, visitor or agent may take its own index
    instead (the planner's choice). The keyset condition is a row comparison, which both
    databases use as a range on that index."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def search(
        self, criteria: ConversationCriteria, *, after: ConversationKey | None, limit: int
    ) -> Sequence[Conversation]:
        where: list[Any] = [_T.c.tenant_id == criteria.tenant_id]
        if criteria.states:
            where.append(_T.c.state.in_(sorted(state.value for state in criteria.states)))
        if criteria.queue is not None:
            where.append(_T.c.queue == criteria.queue)
        if criteria.agent_id is not None:
            where.append(_T.c.agent_id == criteria.agent_id)
        if criteria.visitor_id is not None:
            where.append(_T.c.visitor_id == criteria.visitor_id)
        if criteria.since is not None:
            where.append(_T.c.created_at >= criteria.since)
        if criteria.until is not None:
            where.append(_T.c.created_at < criteria.until)
        if criteria.channel is not None:
            where.append(_T.c.channel == criteria.channel.value)
        if after is not None:
            key = tuple_(
                literal(after.created_at, _T.c.created_at.type), literal(after.id, _T.c.id.type)
            )
            where.append(tuple_(_T.c.created_at, _T.c.id) < key)
        stmt = select(_T).where(*where).order_by(*NEWEST_FIRST).limit(max(limit, 0))
        return [conversation_from_row(row) for row in await self._ctx.execute(stmt)]

    async def message_counts(self, conversation_id: ConversationId) -> MessageCounts:
        stmt = (
            select(_E.c.type, _E.c.sender_kind, func.count())
            .where(_E.c.conversation_id == conversation_id, _E.c.type.in_(_COUNTED))
            .group_by(_E.c.type, _E.c.sender_kind)
        )
        messages: dict[str, int] = {}
        notes = 0
        for event_type, sender_kind, count in await self._ctx.execute(stmt):
            if event_type == NoteAdded.TYPE:
                notes += count
            else:
                messages[sender_kind] = messages.get(sender_kind, 0) + count
        return MessageCounts(
            visitor=messages.get(ParticipantKind.VISITOR.value, 0),
            agent=messages.get(ParticipantKind.AGENT.value, 0),
            bot=messages.get(ParticipantKind.BOT.value, 0),
            system=messages.get(ParticipantKind.SYSTEM.value, 0),
            notes=notes,
        )
