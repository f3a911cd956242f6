"""Routing: which ready agent gets the next queued conversation.

The rule: an agent who is ready, below their capacity and has every skill the queue
requires at its level or higher; of those the least busy, then the one idle longest (the
later of becoming ready and getting their last chat), then the id for a stable order.
Nobody without the skills is a fallback: such a chat waits for a qualified agent.
Queued conversations are served longest-waiting first; one reserved for its agent
(``business.reawaken_rules``) goes to nobody else while the reservation lasts.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from types import MappingProxyType

from business.batching import Batcher
from business.conversation import Conversation
from business.inactivity_rules import on_taken
from business.locks import KeyedLock
from business.model import (
    DEFAULT_OFFER_TIMEOUT,
    Agent,
    AgentId,
    ConversationId,
    QueueName,
    TenantId,
)
from business.offer_rules import make_offer
from business.ports import Clock
from business.reawaken_rules import reserved_for
from business.transactions import Transaction, Transactions
from business.validation import Limits

logger = logging.getLogger(__name__)

_NEVER = datetime.min.replace(tzinfo=UTC)
_MAX_COALESCED = 10_000
"""Dispatch requests served by one round at most (each asks for one queue)."""

_Changed = Mapping[ConversationId, Conversation]
_NO_SKILLS: Mapping[str, int] = MappingProxyType({})


def choose_agent(
    agents: Sequence[Agent],
    loads: Mapping[AgentId, int],
    *,
    required: Mapping[str, int] = _NO_SKILLS,
    exclude: AgentId | None = None,
    prefer: AgentId | None = None,
) -> Agent | None:
    """The agent the next conversation goes to, or None when nobody can take one.

    ``required``: skill -> minimum level (the queue's ``skills``); ``exclude``: the agent
    who was offered the conversation last and did not take it; ``prefer``: the agent
    who gets it if they are a candidate (the visitor's last agent)."""
    candidates = [
        a
        for a in agents
        if a.ready
        and loads.get(a.id, 0) < a.max_chats
        and a.qualifies(required)
        and a.id != exclude
    ]
    if not candidates:
        return None
    for agent in candidates:
        if agent.id == prefer:
            return agent
    return min(
        candidates,
        key=lambda a: (loads.get(a.id, 0), a.idle_since() or _NEVER, a.id),
    )


async def agent_loads(
    tx: Transaction, tenant_id: TenantId, agents: Sequence[Agent]
) -> dict[AgentId, int]:
    """What counts against each agent's capacity: the chats they have or are offered,
    and the ones they were invited to or offered a place in."""
    ids = [a.id for a in agents]
    loads = dict(await tx.conversations.count_active_by_agent(tenant_id, ids))
    for agent_id, count in (await tx.members.count_load(tenant_id, ids)).items():
        loads[agent_id] = loads.get(agent_id, 0) + count
    return loads


class Router:
    """Assigns queued conversations to agents and keeps queue positions current.

    One dispatch runs at a time per tenant: agent load spans queues, so two queues
    dispatching at once could both give an agent their last free slot. Two locks make
    that true: ``tenant_lock`` (an asyncio lock, ordering this process's coroutines) and,
    as the first statement of the transaction, ``tx.locks.tenant`` (on PostgreSQL an
    advisory lock: the one that orders engine processes; ``business.lock_ports``).

    A dispatch reads only the head of the queue (as many conversations as there are
    free places, plus ``Limits.queue_position_window``), so its cost does not grow with
    the queue's length. Dispatches asked for while one of the tenant runs are done
    together in the next (one per queue): a thousand conversations started at once
    cost a few dispatches, not a thousand, and each caller still gets a dispatch that
    began after it asked.
    """

    def __init__(self, *, transactions: Transactions, clock: Clock, limits: Limits) -> None:
        self._tx = transactions
        self._clock = clock
        self._limits = limits
        self._locks = KeyedLock()
        self._dispatchers: dict[TenantId, Batcher[QueueName, _Changed]] = {}

    def tenant_lock(self, tenant_id: TenantId) -> AbstractAsyncContextManager[None]:
        """The process's lock a dispatch for this tenant holds.

        Whoever else writes agents of the tenant takes it too, so that the loads a
        dispatch counted stay true while it assigns, and also takes the database's
        (``await tx.locks.tenant(tenant_id)`` first in each transaction it holds this
        for): this one only orders the coroutines of one process. Not reentrant: never
        call ``dispatch`` while holding it.
        """
        return self._locks.hold(tenant_id)

    async def dispatch(
        self, tenant_id: TenantId, queue: QueueName
    ) -> Mapping[ConversationId, Conversation]:
        """Assign what can be assigned; returns the conversations it changed (with those
        of the dispatches it was done together with)."""
        dispatcher = self._dispatchers.get(tenant_id)
        if dispatcher is None:
            dispatcher = self._dispatchers[tenant_id] = Batcher(
                functools.partial(self._dispatch_queues, tenant_id), max_batch=_MAX_COALESCED
            )
        return await dispatcher.submit(queue)

    async def _dispatch_queues(
        self, tenant_id: TenantId, queues: Sequence[QueueName]
    ) -> list[_Changed | BaseException]:
        outcomes: dict[QueueName, _Changed | BaseException] = {}
        for queue in dict.fromkeys(queues):
            try:
                outcomes[queue] = await self._dispatch(tenant_id, queue)
            except Exception as error:
                outcomes[queue] = error
        return [outcomes[queue] for queue in queues]

    async def _dispatch(self, tenant_id: TenantId, queue: QueueName) -> _Changed:
        now = self._clock.now()
        changed: dict[ConversationId, Conversation] = {}
        async with self.tenant_lock(tenant_id), self._tx() as tx:
            await tx.locks.tenant(tenant_id)
            settings = await tx.queues.get(tenant_id, queue)
            required = _NO_SKILLS if settings is None else settings.skills
            # Only qualified agents count: their free places are what can be assigned.
            agents = {
                a.id: a
                for a in await tx.agents.list_for_queue(tenant_id, queue)
                if a.qualifies(required)
            }
            loads = await agent_loads(tx, tenant_id, list(agents.values()))
            free = sum(max(0, a.max_chats - loads.get(a.id, 0)) for a in agents.values() if a.ready)
            window = self._limits.queue_position_window
            # Open offers wait at the head of the queue too; they are at most the places
            # the loads count, so the read stays bounded by capacity, not the queue.
            queued = await tx.conversations.list_queued(
                tenant_id, queue, limit=free + window + sum(loads.values()), for_update=True
            )
            if not queued:
                return changed
            timeout = DEFAULT_OFFER_TIMEOUT if settings is None else settings.offer_timeout
            waiting: list[Conversation] = []
            routed: set[AgentId] = set()
            for conversation in queued:
                if conversation.offered_to is not None:
                    waiting.append(conversation)  # keeps its place while offered
                    continue
                # Nobody already in the chat (an invited agent, a monitor) takes it.
                pool = (
                    [a for a in agents.values() if conversation.member(a.id) is None]
                    if conversation.members
                    else list(agents.values())
                )
                # A held chat the visitor answered may wait for its agent alone.
                reserved = reserved_for(conversation, now, serving=agents.keys())
                if reserved is not None:
                    pool = [a for a in pool if a.id == reserved]
                agent = choose_agent(
                    pool,
                    loads,
                    required=required,
                    exclude=conversation.last_offered_to,
                    prefer=conversation.preferred_agent_id,
                )
                if agent is None:
                    waiting.append(conversation)
                    continue
                offer = make_offer(conversation, agent, now, timeout, take=agent.auto_accept)
                offered = await tx.apply(on_taken(offer, settings, now))
                changed[conversation.id] = offered
                if not agent.auto_accept:
                    waiting.append(offered)
                loads[agent.id] = loads.get(agent.id, 0) + 1
                agents[agent.id] = dataclasses.replace(agent, last_routed_at=now)
                routed.add(agent.id)
                logger.info("conversation %s offered to agent %s", conversation.id, agent.id)
            for agent_id in sorted(routed):
                await tx.agents.set_routed(agent_id, now)
            for position, conversation in enumerate(waiting[:window], start=1):
                change = conversation.reposition(position, now)
                if change is not None:
                    changed[conversation.id] = await tx.apply(change)
            await tx.commit()
        return changed
