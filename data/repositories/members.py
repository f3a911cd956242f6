"""Members of conversations besides their owner (``business.member_ports``), in
SQLAlchemy Core.

Writes are queued like the conversations' and go out with the next flush, after the
conversation rows they belong to (``MEMBER_WRITES``), in the order they were made: a
write that would otherwise overtake an earlier one flushes first. A promotion runs at
once instead: it reads the member's cursor and raises the conversation's in SQL, after
the save that made the member the owner and before anything that follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, assert_never

from sqlalchemy import (
    Executable,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from business.member_ports import (
    MemberDelivery,
    MemberJoin,
    MemberLeave,
    MemberPromote,
    MemberRoleSet,
    MemberWrite,
)
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    MemberRole,
    OfferKind,
    TenantId,
)
from data.models import ConversationMemberRow
from data.repositories.base import MEMBER_WRITES, SqlContext
from data.repositories.conversation_rows import CONVERSATIONS

_M: Table = ConversationMemberRow.__table__  # type: ignore[assignment]
_C = CONVERSATIONS
_KEY = and_(
    _M.c.conversation_id == bindparam("b_conversation_id"),
    _M.c.agent_id == bindparam("b_agent_id"),
)
_JOIN_VALUES = ("name", "role", "joined_pos", "delivered_pos", "left_pos")


def _upsert(dialect: Any) -> Executable:
    """INSERT, or on a row of the same (conversation, agent), replace it: an earlier
    membership (or a former owner's row) gives way to the new one."""
    stmt = dialect.insert(_M)
    upsert: Executable = stmt.on_conflict_do_update(
        index_elements=[_M.c.conversation_id, _M.c.agent_id],
        set_={name: stmt.excluded[name] for name in _JOIN_VALUES},
    )
    return upsert


_JOIN = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}
_SET_ROLE = update(_M).where(_KEY).values(role=bindparam("role"))
_LEAVE = update(_M).where(_KEY).values(left_pos=bindparam("left_pos"))
# Forward only, and never past the member's leaving.
_TARGET = case(
    (and_(_M.c.left_pos.is_not(None), _M.c.left_pos < bindparam("pos")), _M.c.left_pos),
    else_=bindparam("pos"),
)
_ADVANCE = update(_M).where(_KEY, _M.c.delivered_pos < _TARGET).values(delivered_pos=_TARGET)
_MEMBER_CURSOR = select(_M.c.delivered_pos).where(_KEY).scalar_subquery()
# The owner's cursor takes the member's if that is further (NULL without a row: kept).
_RAISE_OWNER_CURSOR = (
    update(_C)
    .where(_C.c.id == bindparam("b_conversation_id"))
    .values(
        agent_delivered_pos=case(
            (_C.c.agent_delivered_pos < _MEMBER_CURSOR, _MEMBER_CURSOR),
            else_=_C.c.agent_delivered_pos,
        )
    )
)
_DELETE = delete(_M).where(_KEY)
_UNTIL = func.coalesce(_M.c.left_pos, _C.c.last_pos)
_LIST_UNDELIVERED = (
    select(_M.c.conversation_id, _M.c.agent_id, _M.c.role, _M.c.delivered_pos, _UNTIL)
    .join(_C, _C.c.id == _M.c.conversation_id)
    .where(_M.c.delivered_pos < _UNTIL)
    .order_by(_C.c.created_at, _C.c.id, _M.c.agent_id)
)
_OPEN = _C.c.state != ConversationState.ENDED.value


class SqlMemberRepository:
    """``business.member_ports.MemberRepository`` over ``conversation_members``."""

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx
        self._last: Executable | None = None

    def _refuse_if_read_only(self) -> None:
        if self._ctx.read_only:
            raise RuntimeError("a read-only unit of work cannot write")

    async def write(self, conversation_id: ConversationId, write: MemberWrite) -> None:
        self._refuse_if_read_only()
        key = {"b_conversation_id": conversation_id, "b_agent_id": write.agent_id}
        match write:
            case MemberJoin():
                row = {
                    "conversation_id": conversation_id,
                    "agent_id": write.agent_id,
                    "name": write.name,
                    "role": write.role.value,
                    "joined_pos": write.joined_pos,
                    "delivered_pos": write.delivered_pos,
                    "left_pos": write.left_pos,
                }
                await self._queue(_JOIN[self._ctx.dialect], row)
            case MemberRoleSet():
                await self._queue(_SET_ROLE, {**key, "role": write.role.value})
            case MemberLeave():
                await self._queue(_LEAVE, {**key, "left_pos": write.left_pos})
            case MemberPromote():
                await self._promote(conversation_id, key)
            case _:
                assert_never(write)

    async def _queue(self, stmt: Executable, row: dict[str, Any]) -> None:
        ctx = self._ctx
        if stmt is not self._last and ctx.is_queued(stmt):
            # Its batch would go out before the writes queued since: keep the order.
            await ctx.flush()
        ctx.queue(stmt, row, order=MEMBER_WRITES)
        self._last = stmt

    async def _promote(self, conversation_id: ConversationId, key: dict[str, Any]) -> None:
        ctx = self._ctx
        # ``execute`` flushes first: the save that made them the owner (which wrote the
        # owner's cursor as the change gave it) is in before the cursor is raised.
        await ctx.execute(_RAISE_OWNER_CURSOR, key)
        await ctx.execute(_DELETE, key)
        # The aggregate as written keeps the lower cursor; reads and the cache must not.
        ctx.changed_behind.add(conversation_id)

    async def advance(self, cursors: Mapping[tuple[ConversationId, AgentId], int]) -> None:
        self._refuse_if_read_only()
        # In key order: two writers locking the same rows in different orders (PostgreSQL)
        # could deadlock.
        for (conversation_id, agent_id), pos in sorted(cursors.items()):
            await self._queue(
                _ADVANCE,
                {"b_conversation_id": conversation_id, "b_agent_id": agent_id, "pos": pos},
            )

    async def cursor(self, conversation_id: ConversationId, agent_id: AgentId) -> int | None:
        stmt = select(_M.c.delivered_pos).where(
            _M.c.conversation_id == conversation_id, _M.c.agent_id == agent_id
        )
        found = (await self._ctx.execute(stmt)).first()
        return None if found is None else int(found[0])

    async def list_undelivered(
        self, conversation_id: ConversationId | None = None
    ) -> Sequence[MemberDelivery]:
        stmt = _LIST_UNDELIVERED
        if conversation_id is not None:
            stmt = stmt.where(_M.c.conversation_id == conversation_id)
        rows = await self._ctx.execute(stmt)
        return [
            MemberDelivery(
                conversation_id=ConversationId(conversation_id),
                agent_id=AgentId(agent_id),
                role=MemberRole(role),
                delivered_pos=delivered_pos,
                until_pos=until_pos,
            )
            for conversation_id, agent_id, role, delivered_pos, until_pos in rows
        ]

    async def count_load(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        if not agent_ids:
            return {}
        stmt = (
            select(_M.c.agent_id, func.count())
            .join(_C, _C.c.id == _M.c.conversation_id)
            .where(
                _M.c.agent_id.in_(sorted(set(agent_ids))),
                _M.c.left_pos.is_(None),
                or_(
                    _M.c.role == MemberRole.INVITED.value,
                    # A consult is a question, not a chat: its offer takes no place.
                    and_(
                        _M.c.role == MemberRole.OFFERED.value,
                        _C.c.offer_kind != OfferKind.CONSULT.value,
                    ),
                ),
                _C.c.tenant_id == tenant_id,
                _OPEN,
            )
            .group_by(_M.c.agent_id)
        )
        return {AgentId(agent_id): count for agent_id, count in await self._ctx.execute(stmt)}

    async def list_for_agent(
        self, agent_id: AgentId
    ) -> Sequence[tuple[ConversationId, MemberRole]]:
        stmt = (
            select(_M.c.conversation_id, _M.c.role)
            .join(_C, _C.c.id == _M.c.conversation_id)
            .where(_M.c.agent_id == agent_id, _M.c.left_pos.is_(None), _OPEN)
            .order_by(_C.c.created_at, _C.c.id)
        )
        return [
            (ConversationId(conversation_id), MemberRole(role))
            for conversation_id, role in await self._ctx.execute(stmt)
        ]
