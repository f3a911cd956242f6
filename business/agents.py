"""The agent directory and agents' availability."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.model import Agent, AgentId, AgentRole, Queue, QueueName, TenantId, new_id
from business.ports import AddressNormalizer, Clock
from business.routing import Router
from business.transactions import Transaction, Transactions
from business.validation import check_agent_name, check_queue_name, check_skills

logger = logging.getLogger(__name__)


class AgentService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        router: Router,
        clock: Clock,
        addresses: AddressNormalizer,
    ) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock
        self._addresses = addresses

    async def add_agent(self, cmd: c.AddAgent, *, route: bool = True) -> Agent:
        """Create or update the agent with this address; unknown queues (served or
        supervised) are created.

        The address is normalised through the ``AddressNormalizer`` port, so the same
        account given in another spelling updates the agent instead of adding a second
        one. An agent belongs to one tenant for good. On update, capacity and queues are
        replaced; role, supervised queues and skills left None are kept (an agent who
        stops being a supervisor supervises nothing). Only a supervisor supervises
        queues. Raising the capacity, adding a queue or skills of a ready agent routes
        waiting chats, unless ``route`` is False: a process that delivers nothing (the
        CLI) must leave routing to the engine, or it would assign chats whose offers
        nobody sends.
        """
        if not 1 <= cmd.max_chats <= 100:
            raise InvalidInput("max_chats must be between 1 and 100")
        if not cmd.queues:
            raise InvalidInput("an agent needs at least one queue")
        queues = tuple(dict.fromkeys(check_queue_name(q) for q in cmd.queues))
        supervises = (
            None
            if cmd.supervises is None
            else tuple(dict.fromkeys(check_queue_name(q) for q in cmd.supervises))
        )
        skills = None if cmd.skills is None else check_skills(cmd.skills)
        address = self._addresses.normalize(cmd.address)
        name = check_agent_name(cmd.name or "")
        async with self._router.tenant_lock(cmd.tenant_id), self._tx() as tx:
            await tx.locks.tenant(cmd.tenant_id)
            tenant = await tx.tenants.get(cmd.tenant_id)
            if tenant is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            existing = await tx.agents.get_by_address(address, for_update=True)
            if existing is not None and existing.tenant_id != tenant.id:
                raise InvalidInput(f"{address} is an agent of another tenant")
            role = cmd.role or (existing.role if existing is not None else AgentRole.AGENT)
            if role is not AgentRole.SUPERVISOR:
                if supervises:
                    raise InvalidInput(
                        f"{address} is no supervisor: only a supervisor supervises queues "
                        "(give role supervisor)"
                    )
                supervises = ()
            await _ensure_queues(tx, tenant.id, (*queues, *(supervises or ())))
            if existing is None:
                agent = Agent(
                    id=cmd.agent_id or AgentId(new_id()),
                    tenant_id=tenant.id,
                    address=address,
                    name=name or address.partition("@")[0],
                    max_chats=cmd.max_chats,
                    queues=queues,
                    role=role,
                    supervises=supervises or (),
                    skills=skills or {},
                    auto_accept=bool(cmd.auto_accept),
                )
                await tx.agents.add(agent)
            else:
                agent = dataclasses.replace(
                    existing,
                    name=name or existing.name,
                    max_chats=cmd.max_chats,
                    queues=queues,
                    role=role,
                    supervises=existing.supervises if supervises is None else supervises,
                    skills=existing.skills if skills is None else skills,
                    auto_accept=(
                        existing.auto_accept if cmd.auto_accept is None else cmd.auto_accept
                    ),
                )
                await tx.agents.update_profile(
                    agent.id,
                    name=agent.name,
                    max_chats=agent.max_chats,
                    queues=agent.queues,
                    role=agent.role,
                    supervises=agent.supervises,
                    skills=agent.skills,
                    auto_accept=agent.auto_accept,
                )
            await tx.commit()
        if route and agent.ready:
            for queue in agent.queues:
                await self._router.dispatch(agent.tenant_id, queue)
        return agent

    async def list_agents(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        async with self._tx() as tx:
            return await tx.agents.list(tenant_id)

    async def get_agent(self, agent_id: AgentId) -> Agent | None:
        async with self._tx.read() as tx:
            return await tx.agents.get(agent_id)

    async def find_agent(self, address: str) -> Agent | None:
        """The agent with this address, which must be in normalised form (as the agent
        desk receives it from its server); None for anybody else."""
        async with self._tx.read() as tx:
            return await tx.agents.get_by_address(address)

    def normalize_address(self, address: str) -> str:
        """``address`` as the agent desk writes it; ``InvalidInput`` if it is none."""
        return self._addresses.normalize(address)

    async def set_availability(self, cmd: c.SetAgentAvailability) -> Agent | None:
        """Record whether an agent can take chats; becoming ready routes waiting chats.

        Only readiness is written, read fresh from the database: a configuration change
        made meanwhile by another process (``chat-engine agent add``) stays. Returns None
        for an unknown agent.
        """
        async with self._tx() as tx:
            cached = await tx.agents.get(cmd.agent_id)
        if cached is None:
            return None
        async with self._router.tenant_lock(cached.tenant_id), self._tx() as tx:
            await tx.locks.tenant(cached.tenant_id)
            agent = await tx.agents.get(cmd.agent_id, for_update=True)
            if agent is None:
                return None
            if agent.ready == cmd.ready:
                return agent
            since = self._clock.now() if cmd.ready else None
            await tx.agents.set_ready(agent.id, cmd.ready, since)
            await tx.commit()
        agent = dataclasses.replace(agent, ready=cmd.ready, ready_since=since)
        logger.info("agent %s is %s", agent.id, "ready" if agent.ready else "not ready")
        if agent.ready:
            for queue in agent.queues:
                await self._router.dispatch(agent.tenant_id, queue)
        return agent


async def _ensure_queues(
    tx: Transaction, tenant_id: TenantId, queues: tuple[QueueName, ...]
) -> None:
    for queue in dict.fromkeys(queues):
        if await tx.queues.get(tenant_id, queue) is None:
            await tx.queues.add(Queue(tenant_id=tenant_id, name=queue, title=queue.title()))
