"""The chats reserved for their agent (``business.reawaken_ports``), in SQLAlchemy Core,
straight from the database: the deadlines are stored, so a restart loses none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from business.conversation import Conversation
from business.model import AgentId, ConversationState
from data.repositories.base import SqlContext
from data.repositories.conversation_rows import CONVERSATIONS, conversation_from_row

_T = CONVERSATIONS
_QUEUED = ConversationState.QUEUED.value


class SqlReservationRepository:
    """Both reads go through the index on ``reserved_until``: the reserved chats are a
    few of the queued ones, whatever the number of conversations stored."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def list_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        stmt = (
            select(_T)
            .where(_T.c.reserved_until <= now, _T.c.state == _QUEUED)
            .order_by(_T.c.reserved_until, _T.c.id)
            .limit(max(limit, 0))
        )
        return [conversation_from_row(row) for row in await self._ctx.execute(stmt)]

    async def list_for_agent(self, agent_id: AgentId, now: datetime) -> Sequence[Conversation]:
        stmt = (
            select(_T)
            .where(
                _T.c.reserved_until > now,
                _T.c.preferred_agent_id == agent_id,
                _T.c.state == _QUEUED,
            )
            .order_by(_T.c.created_at, _T.c.id)
        )
        return [conversation_from_row(row) for row in await self._ctx.execute(stmt)]
