"""Delivery to agents: what the agent desk has not handed over yet, and its cursors.

Each agent in a conversation has a cursor: its owner (or the agent a queued chat is
offered to) the one on the conversation (``agent_delivered_pos``); every other member
one of their own (``business.member_ports``), kept after they leave until everything up
to their leaving is delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from business.conversation import Conversation
from business.errors import NotFound
from business.events import StoredEvent
from business.model import AgentId, ConversationId, MemberRole
from business.transactions import Transactions, retrying

SentUpTo = Callable[[ConversationId, AgentId], int]
"""The pos up to which an agent was sent a conversation's events (0: unknown)."""

Recipient = tuple[ConversationId, AgentId | None]
"""One agent's delivery in one conversation; None: its own agent (``desk_agent_id``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDelivery:
    """Events an agent has not been sent yet, oldest first."""

    conversation: Conversation
    events: Sequence[StoredEvent]
    agent_id: AgentId | None = None
    """The member they are for; None: the conversation's own agent (``desk_agent_id``)."""
    role: MemberRole | None = None
    """The member's role (kept after they left): a monitor's copies are marked."""


class DeliveryService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def pending_agent_deliveries(
        self, *, sent_up_to: SentUpTo = lambda _conversation, _agent: 0
    ) -> Sequence[PendingDelivery]:
        """What agents have not been sent yet, e.g. while the XMPP link was down: for
        each conversation its own agent's, then each member's. ``sent_up_to`` (the
        caller's own record of what it sent since its cursors were last stored) leaves
        out, unread, what it already sent: under load every cursor trails a little,
        and a periodic replay read every open conversation's latest events again."""
        pending = []
        async with self._tx() as tx:
            for conv in await tx.conversations.list_undelivered_to_agents():
                desk = conv.desk_agent_id
                if desk is not None and sent_up_to(conv.id, desk) >= conv.last_pos:
                    continue
                events = await tx.events.list_after_pos(
                    conv.id, conv.agent_delivered_pos, conv.last_pos - conv.agent_delivered_pos
                )
                pending.append(PendingDelivery(conversation=conv, events=events))
            members = await tx.members.list_undelivered()
            found = await tx.conversations.get_many(
                sorted({m.conversation_id for m in members}), for_update=False
            )
            for member in members:
                owner = found.get(member.conversation_id)
                if owner is None:
                    continue
                if sent_up_to(member.conversation_id, member.agent_id) >= member.until_pos:
                    continue
                conv = owner
                events = await tx.events.list_after_pos(
                    conv.id, member.delivered_pos, member.until_pos - member.delivered_pos
                )
                pending.append(
                    PendingDelivery(
                        conversation=conv,
                        events=events,
                        agent_id=member.agent_id,
                        role=member.role,
                    )
                )
        return pending

    async def members_behind(self, conversation: Conversation) -> Sequence[PendingDelivery]:
        """What the members of ``conversation`` who left it have not been sent yet, up to
        their leaving (current members are delivered from the conversation itself)."""
        current = {m.agent_id for m in conversation.members}
        pending = []
        async with self._tx.read() as tx:
            for member in await tx.members.list_undelivered(conversation.id):
                if member.agent_id in current:
                    continue
                events = await tx.events.list_after_pos(
                    conversation.id,
                    member.delivered_pos,
                    member.until_pos - member.delivered_pos,
                )
                pending.append(
                    PendingDelivery(
                        conversation=conversation,
                        events=events,
                        agent_id=member.agent_id,
                        role=member.role,
                    )
                )
        return pending

    async def current(self, conversation_id: ConversationId) -> Conversation:
        """The conversation as stored now, never an older copy another process's
        writes left in this one's cache (``NotFound`` if there is none)."""
        async with self._tx.read() as tx:
            conversation = await tx.conversations.get(conversation_id, fresh=True)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        return conversation

    async def member_cursor(self, conversation_id: ConversationId, agent_id: AgentId) -> int | None:
        """How far delivery to a member of the conversation has come (None: not one)."""
        async with self._tx.read() as tx:
            return await tx.members.cursor(conversation_id, agent_id)

    async def mark_delivered(self, cursors: Mapping[Recipient, int]) -> None:
        """Move the delivery cursors of several agents in one transaction; a cursor never
        moves back nor past what there is to deliver to them. A cursor of an agent who
        has meanwhile lost the chat (transferred) moves their own row's."""
        return await retrying(lambda: self._mark_delivered(cursors))

    async def _mark_delivered(self, cursors: Mapping[Recipient, int]) -> None:
        if not cursors:
            return
        async with self._tx() as tx:
            moved = 0
            # From the cache, without locks: a cursor is written as the greater of stored
            # and new, and checks nothing else (see ``ConversationRepository.save``), so
            # an older copy can neither take it back nor make it conflict.
            found = await tx.conversations.get_many(
                sorted({cid for cid, _ in cursors}), for_update=True, optimistic=True
            )
            conversations = dict(found)
            others: dict[tuple[ConversationId, AgentId], int] = {}
            for (conversation_id, agent_id), pos in cursors.items():
                conv = conversations.get(conversation_id)
                if conv is None:
                    continue
                if agent_id is not None and conv.desk_agent_id != agent_id:
                    others[(conversation_id, agent_id)] = pos
                    continue
                change = conv.mark_delivered_to_agent(pos)
                if change is not None:
                    conversations[conversation_id] = await tx.apply(change)
                    moved += 1
            if others:
                await tx.members.advance(others)
            if moved or others:
                await tx.commit()

    async def mark_delivered_to_agents(self, cursors: Mapping[ConversationId, int]) -> None:
        """``mark_delivered`` for the conversations' own agents, whoever they are."""
        await self.mark_delivered({(cid, None): pos for cid, pos in cursors.items()})

    async def mark_delivered_to_agent(self, conversation_id: ConversationId, pos: int) -> None:
        await self.mark_delivered_to_agents({conversation_id: pos})
