"""What an agent asks the engine itself about (``chats``, ``max <n>``, ``queues`` at
``chat.<domain>``): their open chats, their capacity, and how their queues stand."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from business.conversation import Conversation
from business.errors import InvalidInput, NotFound
from business.model import Agent, AgentId, QueueName
from business.ports import Clock
from business.routing import Router
from business.transactions import Transactions

logger = logging.getLogger(__name__)

MAX_CHATS = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStanding:
    queue: QueueName
    waiting: int
    longest_wait: timedelta | None
    """How long the longest-waiting visitor has waited; None when nobody waits."""


class AgentDeskService:
    def __init__(self, *, transactions: Transactions, router: Router, clock: Clock) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock

    async def chats(self, agent_id: AgentId) -> Sequence[Conversation]:
        """The agent's open chats and open offers, and those they are in with others
        (invited, consulted, offered a place), oldest first."""
        async with self._tx.read() as tx:
            own = list(await tx.conversations.list_open_for_agent(agent_id))
            seen = {conv.id for conv in own}
            joined = [cid for cid, _ in await tx.members.list_for_agent(agent_id)]
            more = await tx.conversations.get_many([cid for cid in joined if cid not in seen])
        return sorted([*own, *more.values()], key=lambda conv: (conv.created_at, conv.id))

    async def set_capacity(self, agent_id: AgentId, max_chats: int) -> Agent:
        """Change how many chats the agent takes at a time; more room routes waiting chats."""
        if not 1 <= max_chats <= MAX_CHATS:
            raise InvalidInput(f"the number of chats must be between 1 and {MAX_CHATS}")
        async with self._tx() as tx:
            cached = await tx.agents.get(agent_id)
        if cached is None:
            raise NotFound("unknown agent")
        async with self._router.tenant_lock(cached.tenant_id), self._tx() as tx:
            await tx.locks.tenant(cached.tenant_id)
            agent = await tx.agents.get(agent_id, for_update=True)
            if agent is None:
                raise NotFound("unknown agent")
            await tx.agents.update_profile(
                agent.id, name=agent.name, max_chats=max_chats, queues=agent.queues
            )
            await tx.commit()
        logger.info("agent %s takes up to %d chats", agent_id, max_chats)
        updated = dataclasses.replace(agent, max_chats=max_chats)
        if updated.ready and max_chats > agent.max_chats:
            for queue in updated.queues:
                await self._router.dispatch(updated.tenant_id, queue)
        return updated

    async def queues(self, agent: Agent) -> Sequence[QueueStanding]:
        """Waiting counts and longest waits of the agent's queues, in their order."""
        now = self._clock.now()
        standings = []
        async with self._tx.read() as tx:
            for name in agent.queues:
                queue = await tx.queues.get(agent.tenant_id, name)
                head = await tx.conversations.list_queued(agent.tenant_id, name, limit=1)
                standings.append(
                    QueueStanding(
                        queue=name,
                        waiting=0 if queue is None else queue.waiting,
                        longest_wait=now - head[0].created_at if head else None,
                    )
                )
        return standings
