"""Agents: read through the agent cache, written one named field set at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update

from business.model import Agent, AgentId, AgentRole, Monitor, QueueName, TenantId
from data.models import AgentQueueRow, AgentRow
from data.repositories.base import SqlContext
from data.repositories.reads import all_rows, read_through


def _agent(row: AgentRow) -> Agent:
    return Agent(
        id=AgentId(row.id),
        tenant_id=TenantId(row.tenant_id),
        address=row.address,
        name=row.name,
        max_chats=row.max_chats,
        queues=tuple(QueueName(q.queue) for q in row.queues),
        ready=row.ready,
        ready_since=row.ready_since,
        last_routed_at=row.last_routed_at,
        role=AgentRole(row.role),
        supervises=tuple(QueueName(q) for q in row.supervises),
        skills=dict(row.skills),
        auto_accept=row.auto_accept,
        monitored_by=tuple(
            Monitor(
                agent_id=AgentId(m["agent_id"]),
                name=m["name"],
                queues=tuple(QueueName(q) for q in m["queues"]),
            )
            for m in row.monitored_by
        ),
    )


def _monitors_json(monitors: tuple[Monitor, ...]) -> list[dict[str, Any]]:
    return [{"agent_id": m.agent_id, "name": m.name, "queues": list(m.queues)} for m in monitors]


def _queue_rows(queues: tuple[QueueName, ...]) -> list[AgentQueueRow]:
    return [AgentQueueRow(position=i, queue=queue) for i, queue in enumerate(queues)]


class SqlAgentRepository:
    """Agents by id (through the agent cache) and by address.

    Writes are UPDATEs of the columns they name: a presence change writes ``ready``
    and nothing else, so it cannot put back an old capacity read from a stale cache.
    Lists are ordered by address; an agent's ``queues`` keep their configured order.
    """

    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def get(self, agent_id: AgentId, *, for_update: bool = False) -> Agent | None:
        ctx = self._ctx
        return await read_through(
            ctx, ctx.caches.agents, ctx.written_agents, AgentRow, agent_id, _agent, fresh=for_update
        )

    async def get_by_address(self, address: str, *, for_update: bool = False) -> Agent | None:
        # An agent keeps their address for good, so address -> id can be cached forever.
        agent_id = None if for_update else self._ctx.caches.agent_ids.get(address)
        if agent_id is None:
            # Taken before the SELECT: an id read across an invalidation is not kept.
            generation = self._ctx.caches.agent_ids.generation
            stmt = select(AgentRow.id).where(AgentRow.address == address)
            found = await (await self._ctx.orm()).scalar(stmt)
            if found is None:
                return None
            agent_id = AgentId(found)
            self._ctx.caches.agent_ids.fill(address, agent_id, generation)
        return await self.get(agent_id, for_update=for_update)

    async def add(self, agent: Agent) -> None:
        self._ctx.written_agents.add(agent.id)
        (await self._ctx.orm()).add(
            AgentRow(
                id=agent.id,
                tenant_id=agent.tenant_id,
                address=agent.address,
                name=agent.name,
                max_chats=agent.max_chats,
                ready=agent.ready,
                ready_since=agent.ready_since,
                last_routed_at=agent.last_routed_at,
                role=agent.role.value,
                supervises=list(agent.supervises),
                skills=dict(agent.skills),
                auto_accept=agent.auto_accept,
                monitored_by=_monitors_json(agent.monitored_by),
                queues=_queue_rows(agent.queues),
            )
        )
        await (await self._ctx.orm()).flush()

    async def update_profile(
        self,
        agent_id: AgentId,
        *,
        name: str,
        max_chats: int,
        queues: tuple[QueueName, ...],
        role: AgentRole | None = None,
        supervises: tuple[QueueName, ...] | None = None,
        skills: Mapping[str, int] | None = None,
        auto_accept: bool | None = None,
    ) -> None:
        """Name, capacity and queues, and role, supervised queues, skills and auto-accept
        unless None;
        an agent that was never added is a KeyError."""
        self._ctx.written_agents.add(agent_id)
        row = await (await self._ctx.orm()).get(AgentRow, agent_id, populate_existing=True)
        if row is None:
            raise KeyError(agent_id)
        row.name = name
        row.max_chats = max_chats
        if role is not None:
            row.role = role.value
        # New objects, not changed ones: the ORM sees a JSON column change only then.
        if supervises is not None:
            row.supervises = list(supervises)
        if skills is not None:
            row.skills = dict(skills)
        if auto_accept is not None:
            row.auto_accept = auto_accept
        if tuple(q.queue for q in row.queues) != queues:
            row.queues = _queue_rows(queues)
        await (await self._ctx.orm()).flush()

    async def set_ready(self, agent_id: AgentId, ready: bool, since: datetime | None) -> None:
        await self._set(agent_id, ready=ready, ready_since=since)

    async def set_routed(self, agent_id: AgentId, at: datetime) -> None:
        await self._set(agent_id, last_routed_at=at)

    async def set_monitored_by(self, agent_id: AgentId, monitors: tuple[Monitor, ...]) -> None:
        await self._set(agent_id, monitored_by=_monitors_json(monitors))

    async def remove(self, agent_id: AgentId) -> None:
        self._ctx.written_agents.add(agent_id)
        session = await self._ctx.orm()
        address = await session.scalar(select(AgentRow.address).where(AgentRow.id == agent_id))
        if address is None:
            raise KeyError(agent_id)
        # The queues go by the foreign key's cascade on PostgreSQL; SQLite enforces
        # foreign keys only when asked to, so they are deleted here on both.
        for stmt in (
            delete(AgentQueueRow).where(AgentQueueRow.agent_id == agent_id),
            delete(AgentRow).where(AgentRow.id == agent_id),
        ):
            await session.execute(stmt.execution_options(synchronize_session=False))
        # "An address keeps its agent for good" holds no longer: forget it now, in this
        # process (the agent cache entry goes at commit, as for every agent written).
        self._ctx.caches.agent_ids.invalidate([address])
        self._ctx.removed_addresses.add(address)

    async def _set(self, agent_id: AgentId, **values: object) -> None:
        self._ctx.written_agents.add(agent_id)
        result = await (await self._ctx.orm()).execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise KeyError(agent_id)

    async def list(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        stmt = select(AgentRow).order_by(AgentRow.address)
        if tenant_id is not None:
            stmt = stmt.where(AgentRow.tenant_id == tenant_id)
        return [_agent(row) for row in await all_rows(self._ctx, stmt)]

    async def list_for_queue(self, tenant_id: TenantId, queue: QueueName) -> Sequence[Agent]:
        serves_queue: ColumnElement[bool] = AgentRow.id.in_(
            select(AgentQueueRow.agent_id).where(AgentQueueRow.queue == queue)
        )
        stmt = (
            select(AgentRow)
            .where(AgentRow.tenant_id == tenant_id, serves_queue)
            .order_by(AgentRow.address)
        )
        return [_agent(row) for row in await all_rows(self._ctx, stmt)]
