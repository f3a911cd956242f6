"""Delivery to agents: what the agent desk has not handed over yet, and its cursors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from business.conversation import Conversation
from business.events import StoredEvent
from business.model import ConversationId
from business.transactions import Transactions, retrying


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDelivery:
    """Events an agent has not been sent yet, oldest first."""

    conversation: Conversation
    events: Sequence[StoredEvent]


class DeliveryService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def pending_agent_deliveries(self) -> Sequence[PendingDelivery]:
        """What agents have not been sent yet, e.g. while the XMPP link was down."""
        pending = []
        async with self._tx() as tx:
            for conv in await tx.conversations.list_undelivered_to_agents():
                events = await tx.events.list_after_pos(
                    conv.id, conv.agent_delivered_pos, conv.last_pos - conv.agent_delivered_pos
                )
                pending.append(PendingDelivery(conversation=conv, events=events))
        return pending

    async def mark_delivered_to_agents(self, cursors: Mapping[ConversationId, int]) -> None:
        """Move the delivery cursors of several conversations in one transaction; a
        cursor never moves back nor past the conversation's last event."""
        return await retrying(lambda: self._mark_delivered_to_agents(cursors))

    async def _mark_delivered_to_agents(self, cursors: Mapping[ConversationId, int]) -> None:
        if not cursors:
            return
        async with self._tx() as tx:
            moved = 0
            # From the cache, without locks: a cursor is written as the greater of stored
            # and new, and checks nothing else (see ``ConversationRepository.save``), so
            # an older copy can neither take it back nor make it conflict.
            found = await tx.conversations.get_many(
                sorted(cursors), for_update=True, optimistic=True
            )
            for conversation_id, conv in found.items():
                change = conv.mark_delivered_to_agent(cursors[conversation_id])
                if change is not None:
                    await tx.apply(change)
                    moved += 1
            if moved:
                await tx.commit()

    async def mark_delivered_to_agent(self, conversation_id: ConversationId, pos: int) -> None:
        await self.mark_delivered_to_agents({conversation_id: pos})
