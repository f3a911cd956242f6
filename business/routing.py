"""Routing: which ready agent gets the next queued conversation.

The rule: an agent who is ready and below their capacity; of those the least busy, then
the one idle longest (the later of becoming ready and getting their last chat), then the
JID for a stable order. Queued conversations are served longest-waiting first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from business.events import ConversationEvent, ParticipantJoined, StateChanged
from business.model import (
    Agent,
    AgentId,
    Conversation,
    ConversationState,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
)
from business.ports import Clock, UnitOfWork, UnitOfWorkFactory
from business.publishing import EventPublisher

logger = logging.getLogger(__name__)

_NEVER = datetime.min.replace(tzinfo=UTC)


def choose_agent(agents: Sequence[Agent], loads: Mapping[AgentId, int]) -> Agent | None:
    """The agent the next conversation goes to, or None when nobody can take one."""
    candidates = [a for a in agents if a.ready and loads.get(a.id, 0) < a.max_chats]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda a: (loads.get(a.id, 0), a.idle_since() or _NEVER, a.id),
    )


class SeqAllocator:
    """Appends events to one conversation, allocating the next seq for each.

    The conversation must have been read ``for_update`` in the same unit of work, so two
    writers can never hand out the same seq.
    """

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.events: list[ConversationEvent] = []

    def next_seq(self) -> int:
        seq = self.conversation.last_seq + 1
        self.conversation = dataclasses.replace(self.conversation, last_seq=seq)
        return seq

    def add(self, event: ConversationEvent) -> None:
        assert event.seq == self.conversation.last_seq, "allocate with next_seq() first"
        self.events.append(event)

    def update(self, **changes: object) -> None:
        self.conversation = dataclasses.replace(self.conversation, **changes)  # type: ignore[arg-type]

    async def store(self, uow: UnitOfWork, *, new: bool = False) -> None:
        if new:
            await uow.conversations.add(self.conversation)
        else:
            await uow.conversations.save(self.conversation)
        for event in self.events:
            await uow.events.add(event)


class Router:
    """Assigns queued conversations to agents and keeps queue positions current.

    One dispatch runs at a time per tenant: agent load spans queues, so two queues
    dispatching at once could both give an agent their last free slot. This lock is per
    process; several engine processes need a database lock here (scale-out issue).
    """

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, publisher: EventPublisher) -> None:
        self._uow = uow
        self._clock = clock
        self._publisher = publisher
        self._locks: dict[TenantId, asyncio.Lock] = {}

    def tenant_lock(self, tenant_id: TenantId) -> asyncio.Lock:
        """The lock a dispatch for this tenant holds.

        Whoever else writes agents of the tenant takes it too: a dispatch saves the agents
        it read at its start (for ``last_routed_at``), and without the lock that save could
        undo an availability or capacity change made while it ran. Not reentrant: never
        call ``dispatch`` while holding it.
        """
        return self._locks.setdefault(tenant_id, asyncio.Lock())

    async def dispatch(self, tenant_id: TenantId, queue: QueueName) -> None:
        async with self.tenant_lock(tenant_id):
            changed = await self._dispatch_locked(tenant_id, queue)
        for conversation, events in changed:
            await self._publisher.publish(conversation, events)

    async def _dispatch_locked(
        self, tenant_id: TenantId, queue: QueueName
    ) -> list[tuple[Conversation, list[ConversationEvent]]]:
        now = self._clock.now()
        changed: list[tuple[Conversation, list[ConversationEvent]]] = []
        async with self._uow() as uow:
            queued = await uow.conversations.list_queued(tenant_id, queue, for_update=True)
            if not queued:
                return []
            agents = {a.id: a for a in await uow.agents.list_for_queue(tenant_id, queue)}
            loads = dict(await uow.conversations.count_active_by_agent(tenant_id, list(agents)))
            waiting: list[Conversation] = []
            for conversation in queued:
                agent = choose_agent(list(agents.values()), loads)
                if agent is None:
                    waiting.append(conversation)
                    continue
                alloc = SeqAllocator(conversation.transition(ConversationState.ACTIVE, now))
                alloc.update(
                    agent_id=agent.id,
                    agent_name=agent.name,
                    assigned_at=now,
                    queue_position=None,
                    # The offer the bridge sends for the join already carries the
                    # messages written while queued, so delivery starts at the join.
                    agent_delivered_seq=conversation.last_seq,
                )
                participant = Participant(kind=ParticipantKind.AGENT, name=agent.name, id=agent.id)
                alloc.add(
                    ParticipantJoined(
                        conversation_id=conversation.id,
                        seq=alloc.next_seq(),
                        created_at=now,
                        participant=participant,
                    )
                )
                alloc.add(
                    StateChanged(
                        conversation_id=conversation.id,
                        seq=alloc.next_seq(),
                        created_at=now,
                        state=ConversationState.ACTIVE,
                    )
                )
                await alloc.store(uow)
                changed.append((alloc.conversation, alloc.events))
                loads[agent.id] = loads.get(agent.id, 0) + 1
                agents[agent.id] = dataclasses.replace(agent, last_routed_at=now)
                await uow.agents.save(agents[agent.id])
                logger.info("conversation %s assigned to %s", conversation.id, agent.id)
            for position, conversation in enumerate(waiting, start=1):
                if conversation.queue_position == position:
                    continue
                alloc = SeqAllocator(conversation)
                alloc.update(queue_position=position)
                alloc.add(
                    StateChanged(
                        conversation_id=conversation.id,
                        seq=alloc.next_seq(),
                        created_at=now,
                        state=ConversationState.QUEUED,
                        queue_position=position,
                    )
                )
                await alloc.store(uow)
                changed.append((alloc.conversation, alloc.events))
            await uow.commit()
        return changed
