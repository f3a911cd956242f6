"""In-memory fake of ``business.member_ports.MemberRepository`` (``tests.fakes`` wires it
into ``FakeUnitOfWork``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import assert_never

from business.conversation import Conversation
from business.member_ports import (
    MemberDelivery,
    MemberJoin,
    MemberLeave,
    MemberPromote,
    MemberRoleSet,
    MemberWrite,
)
from business.model import AgentId, ConversationId, MemberRole, OfferKind, TenantId


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MemberRow:
    """One row of the ``conversation_members`` table."""

    conversation_id: ConversationId
    agent_id: AgentId
    name: str
    role: MemberRole
    joined_pos: int
    delivered_pos: int
    left_pos: int | None = None


class FakeMemberRepository:
    def __init__(
        self,
        rows: dict[tuple[ConversationId, AgentId], MemberRow],
        conversations: dict[ConversationId, Conversation],
        *,
        read_only: bool = False,
    ) -> None:
        self._rows = rows
        self._conversations = conversations
        self._read_only = read_only

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot write")

    async def write(self, conversation_id: ConversationId, write: MemberWrite) -> None:
        self._refuse_if_read_only()
        key = (conversation_id, write.agent_id)
        row = self._rows.get(key)
        match write:
            case MemberJoin():
                self._rows[key] = MemberRow(
                    conversation_id=conversation_id,
                    agent_id=write.agent_id,
                    name=write.name,
                    role=write.role,
                    joined_pos=write.joined_pos,
                    delivered_pos=write.delivered_pos,
                    left_pos=write.left_pos,
                )
            case MemberRoleSet():
                if row is not None:
                    self._rows[key] = dataclasses.replace(row, role=write.role)
            case MemberLeave():
                if row is not None:
                    self._rows[key] = dataclasses.replace(row, left_pos=write.left_pos)
            case MemberPromote():
                if row is not None:
                    del self._rows[key]
                    conv = self._conversations[conversation_id]
                    cursor = max(conv.agent_delivered_pos, row.delivered_pos)
                    self._conversations[conversation_id] = dataclasses.replace(
                        conv, agent_delivered_pos=cursor
                    )
            case _:
                assert_never(write)

    async def advance(self, cursors: Mapping[tuple[ConversationId, AgentId], int]) -> None:
        self._refuse_if_read_only()
        for key, pos in cursors.items():
            row = self._rows.get(key)
            if row is None:
                continue
            if row.left_pos is not None:
                pos = min(pos, row.left_pos)
            if pos > row.delivered_pos:
                self._rows[key] = dataclasses.replace(row, delivered_pos=pos)

    async def cursor(self, conversation_id: ConversationId, agent_id: AgentId) -> int | None:
        row = self._rows.get((conversation_id, agent_id))
        return None if row is None else row.delivered_pos

    def _until(self, row: MemberRow) -> int:
        if row.left_pos is not None:
            return row.left_pos
        return self._conversations[row.conversation_id].last_pos

    async def list_undelivered(
        self, conversation_id: ConversationId | None = None
    ) -> Sequence[MemberDelivery]:
        found = [
            (self._conversations[r.conversation_id], r)
            for r in self._rows.values()
            if r.delivered_pos < self._until(r)
            and (conversation_id is None or r.conversation_id == conversation_id)
        ]
        found.sort(key=lambda cr: (cr[0].created_at, cr[0].id, cr[1].agent_id))
        return [
            MemberDelivery(
                conversation_id=r.conversation_id,
                agent_id=r.agent_id,
                role=r.role,
                delivered_pos=r.delivered_pos,
                until_pos=self._until(r),
            )
            for _, r in found
        ]

    async def count_load(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        counts: dict[AgentId, int] = {}
        for r in self._rows.values():
            conv = self._conversations[r.conversation_id]
            if (
                r.agent_id in agent_ids
                and r.left_pos is None
                and (
                    r.role is MemberRole.INVITED
                    or (r.role is MemberRole.OFFERED and conv.offer_kind is not OfferKind.CONSULT)
                )
                and conv.tenant_id == tenant_id
                and conv.is_open
            ):
                counts[r.agent_id] = counts.get(r.agent_id, 0) + 1
        return counts

    async def list_for_agent(
        self, agent_id: AgentId
    ) -> Sequence[tuple[ConversationId, MemberRole]]:
        found = [
            (self._conversations[r.conversation_id], r)
            for r in self._rows.values()
            if r.agent_id == agent_id
            and r.left_pos is None
            and self._conversations[r.conversation_id].is_open
        ]
        found.sort(key=lambda cr: (cr[0].created_at, cr[0].id))
        return [(c.id, r.role) for c, r in found]
