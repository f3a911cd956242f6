"""Reawaken as use cases: end the reservations due, so the chats go to anybody, and
list the chats waiting in the queue for an agent (the agent desk's ``chats``).

A reservation starts when the visitor answers a held chat its agent cannot take now
(``business.hold``), and lasts the queue's ``reawaken_window``; the rules are
``business.reawaken_rules``. While it lasts, whatever already moves the queue offers
the chat to its agent once they can take it: their becoming ready, a chat of theirs
ending or going on hold, more room (``max``). When it ends, ``ReawakenClock`` (like the
offer clock, reading the deadlines from the database, so they outlive a restart) ends
it and dispatches the queue. An agent removed from the directory or the queue loses
the reservation at the next dispatch of the queue (the router sees they no longer
serve it); the removal dispatches their queues at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from business.conversation import Conversation
from business.errors import DomainError
from business.model import AgentId, QueueName, TenantId
from business.periodic import Periodic
from business.ports import Clock
from business.reawaken_rules import end_reservation, reserved_for
from business.routing import Router
from business.transactions import Transactions

logger = logging.getLogger(__name__)

_DUE_PER_ROUND = 100
"""Reservations ended per read of the due ones at most; the next round takes the rest."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservedChat:
    conversation: Conversation
    left: timedelta
    """How long it still waits for the agent alone."""


class ReawakenService:
    def __init__(self, *, transactions: Transactions, router: Router, clock: Clock) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock

    async def end_due(self) -> int:
        """End the reservations whose deadline has passed and dispatch their queues;
        returns how many ended."""
        now = self._clock.now()
        async with self._tx.read() as tx:
            due = await tx.reservations.list_due(now, _DUE_PER_ROUND)
        ended = 0
        queues: dict[tuple[TenantId, QueueName], None] = {}
        for seen in due:
            try:
                if await self._end(seen):
                    ended += 1
                    queues[(seen.tenant_id, seen.queue)] = None
            except DomainError as exc:
                # Changed meanwhile (taken, ended): the next round looks again if needed.
                logger.info("reservation of conversation %s not ended: %s", seen.id, exc)
        for tenant_id, queue in queues:
            await self._router.dispatch(tenant_id, queue)
        return ended

    async def _end(self, seen: Conversation) -> bool:
        # The tenant lock keeps a dispatch from offering the chat while it changes.
        async with self._router.tenant_lock(seen.tenant_id), self._tx() as tx:
            await tx.locks.tenant(seen.tenant_id)
            conv = await tx.conversations.get(seen.id, for_update=True)
            now = self._clock.now()
            if conv is None or conv.reserved_until is None or conv.reserved_until > now:
                return False
            await tx.apply(end_reservation(conv))
            await tx.commit()
        logger.info(
            "conversation %s no longer waits for agent %s: it goes to any agent of queue %s",
            conv.id,
            conv.preferred_agent_id,
            conv.queue,
        )
        return True

    async def reserved_chats(self, agent_id: AgentId) -> Sequence[ReservedChat]:
        """The chats waiting in a queue for ``agent_id`` alone now, oldest first."""
        now = self._clock.now()
        async with self._tx.read() as tx:
            found = await tx.reservations.list_for_agent(agent_id, now)
        return [
            ReservedChat(conversation=conv, left=conv.reserved_until - now)
            for conv in found
            if conv.reserved_until is not None and reserved_for(conv, now) == agent_id
        ]


class ReawakenClock(Periodic):
    """Ends the reservations due in the background, every ``interval`` seconds."""

    def __init__(self, reawaken: ReawakenService, *, interval: float = 1.0) -> None:
        super().__init__(
            "reawaken-clock",
            reawaken.end_due,
            interval=interval,
            failure="could not end the reservations due",
        )
