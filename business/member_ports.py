"""Members of conversations besides their owner (``business.model.Member``): the writes a
change makes to them, and the port that stores them (``UnitOfWork.members``).

The conversation aggregate carries its current members (``Conversation.members``), so the
message path decides who may write without a read. The table behind this port keeps what
the aggregate does not: each member's delivery cursor, and the members who left (or the
owner before a transfer) until everything up to their leaving is delivered to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from business.model import AgentId, ConversationId, MemberRole, TenantId


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberJoin:
    """``agent_id`` becomes a member with ``role``; delivery to them starts after
    ``delivered_pos``. A row they had before (an earlier membership) is replaced."""

    agent_id: AgentId
    name: str
    role: MemberRole
    joined_pos: int
    delivered_pos: int
    left_pos: int | None = None
    """Set for a member who is gone already (a former owner): delivered up to here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRoleSet:
    agent_id: AgentId
    role: MemberRole


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberLeave:
    """The member left at ``left_pos``: delivered up to it, nothing after."""

    agent_id: AgentId
    left_pos: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberPromote:
    """The member became the conversation's owner (an accepted transfer): the owner's
    delivery cursor (``Conversation.agent_delivered_pos``) takes over the member's, and
    the member row goes."""

    agent_id: AgentId


MemberWrite = MemberJoin | MemberRoleSet | MemberLeave | MemberPromote


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberDelivery:
    """What is still to be delivered to one member: events after ``delivered_pos`` up to
    ``until_pos`` (their leaving, or the conversation's last event)."""

    conversation_id: ConversationId
    agent_id: AgentId
    role: MemberRole
    delivered_pos: int
    until_pos: int


class MemberRepository(Protocol):
    async def write(self, conversation_id: ConversationId, write: MemberWrite) -> None:
        """Apply one ``MemberWrite`` (``Transaction.apply`` does, for each a change made,
        after saving the conversation)."""
        ...

    async def advance(self, cursors: Mapping[tuple[ConversationId, AgentId], int]) -> None:
        """Move members' delivery cursors forward (never back, never past their leaving);
        cursors of rows that do not exist are ignored. One trip for all."""
        ...

    async def cursor(self, conversation_id: ConversationId, agent_id: AgentId) -> int | None:
        """The member's delivery cursor; None if they have no row."""
        ...

    async def list_undelivered(
        self, conversation_id: ConversationId | None = None
    ) -> Sequence[MemberDelivery]:
        """Members with events still to deliver (``delivered_pos < until_pos``), oldest
        conversation first; of one conversation only, when given."""
        ...

    async def count_load(
        self, tenant_id: TenantId, agent_ids: Sequence[AgentId]
    ) -> Mapping[AgentId, int]:
        """How many open conversations each agent is ``invited`` to or ``offered``
        (the chats besides their own that count against their capacity)."""
        ...

    async def list_for_agent(
        self, agent_id: AgentId
    ) -> Sequence[tuple[ConversationId, MemberRole]]:
        """The open conversations the agent is a current member of, oldest first."""
        ...
