"""Removing an agent from the directory.

Only an agent with nothing open goes: no chat of their own, offered to them or joined
as a member (a removal in the middle of a chat would leave the visitor with nobody and
the agent desk with a conversation it cannot deliver). A supervisor's monitoring of
other agents is dropped with them. Ended conversations keep the agent's id and name as
they were served (no foreign key points at agents); a visitor whose last agent they
were simply gets whoever is free next time, and a held chat waiting in the queue for
them goes to whoever is free at once.

In this process the removed agent's address is forgotten at once; another engine
process on the same PostgreSQL database forgets it when the commit's notification
reaches it (``data.cache_bus``), at the latest when its cache entry expires
(``database.cache_ttl``).
"""

from __future__ import annotations

import logging

from business import commands as c
from business.errors import InvalidTransition, NotFound
from business.model import Agent
from business.routing import Router
from business.transactions import Transaction, Transactions

logger = logging.getLogger(__name__)


class AgentRemovalService:
    def __init__(self, *, transactions: Transactions, router: Router) -> None:
        self._tx = transactions
        self._router = router
        """Its tenant lock: no dispatch may offer the agent a chat while they go."""

    async def remove(self, cmd: c.RemoveAgent) -> Agent:
        """Remove the agent; ``NotFound`` for an unknown one or one of another tenant,
        ``InvalidTransition`` while they have anything open. Returns who was removed."""
        async with self._router.tenant_lock(cmd.tenant_id), self._tx() as tx:
            await tx.locks.tenant(cmd.tenant_id)
            agent = await tx.agents.get(cmd.agent_id, for_update=True)
            if agent is None or agent.tenant_id != cmd.tenant_id:
                raise NotFound(f"unknown agent {cmd.agent_id!r}")
            open_chats = len(await tx.conversations.list_open_for_agent(agent.id))
            open_chats += len(await tx.members.list_for_agent(agent.id))
            if open_chats:
                raise InvalidTransition(
                    f"agent {agent.address} still has {open_chats} open chat(s); they can be "
                    "removed once those have ended or been transferred"
                )
            await _drop_monitoring(tx, agent)
            await tx.agents.remove(agent.id)
            await tx.commit()
        logger.info("agent %s (%s) removed", agent.id, agent.address)
        # Chats waiting in their queues for them alone (``business.reawaken_rules``) go
        # to whoever is free now rather than when the reservation would have ended.
        for queue in agent.queues:
            await self._router.dispatch(agent.tenant_id, queue)
        return agent


async def _drop_monitoring(tx: Transaction, supervisor: Agent) -> None:
    for other in await tx.agents.list(supervisor.tenant_id):
        kept = tuple(m for m in other.monitored_by if m.agent_id != supervisor.id)
        if kept != other.monitored_by:
            await tx.agents.set_monitored_by(other.id, kept)
