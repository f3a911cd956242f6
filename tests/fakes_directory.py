"""In-memory fakes of the directory's ports: agents and adapter state (``tests.fakes``
wires them into ``FakeUnitOfWork``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from business.errors import AlreadyExists
from business.model import Agent, AgentId, AgentRole, Monitor, QueueName, TenantId
from business.ports import JsonValue


class DuplicateKey(AlreadyExists):
    """What the fakes raise where a database would violate a UNIQUE constraint."""


class FakeAgents:
    def __init__(self, agents: dict[AgentId, Agent]) -> None:
        self._agents = agents

    async def get(self, agent_id: AgentId, *, for_update: bool = False) -> Agent | None:
        return self._agents.get(agent_id)

    async def get_by_address(self, address: str, *, for_update: bool = False) -> Agent | None:
        for agent in self._agents.values():
            if agent.address == address:
                return agent
        return None

    async def add(self, agent: Agent) -> None:
        if agent.id in self._agents:
            raise DuplicateKey(f"agent {agent.id}")
        if await self.get_by_address(agent.address) is not None:
            raise DuplicateKey(f"agent address {agent.address}")
        self._agents[agent.id] = agent

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
        given = {
            "role": role,
            "supervises": supervises,
            "skills": skills,
            "auto_accept": auto_accept,
        }
        kept = {k: v for k, v in given.items() if v is not None}
        self._replace(agent_id, name=name, max_chats=max_chats, queues=queues, **kept)

    async def set_ready(self, agent_id: AgentId, ready: bool, since: datetime | None) -> None:
        self._replace(agent_id, ready=ready, ready_since=since)

    async def set_routed(self, agent_id: AgentId, at: datetime) -> None:
        self._replace(agent_id, last_routed_at=at)

    async def set_monitored_by(self, agent_id: AgentId, monitors: tuple[Monitor, ...]) -> None:
        self._replace(agent_id, monitored_by=monitors)

    async def remove(self, agent_id: AgentId) -> None:
        del self._agents[agent_id]

    def _replace(self, agent_id: AgentId, **changes: object) -> None:
        if agent_id not in self._agents:
            raise KeyError(agent_id)
        agent = self._agents[agent_id]
        self._agents[agent_id] = dataclasses.replace(agent, **changes)  # type: ignore[arg-type]

    async def list(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        found = [a for a in self._agents.values() if tenant_id is None or a.tenant_id == tenant_id]
        return sorted(found, key=lambda a: a.address)

    async def list_for_queue(self, tenant_id: TenantId, queue: QueueName) -> Sequence[Agent]:
        return [a for a in await self.list(tenant_id) if queue in a.queues]


class FakeAdapterState:
    def __init__(self, rows: dict[tuple[str, str], dict[str, JsonValue]]) -> None:
        self._rows = rows

    async def get(self, adapter: str, key: str) -> Mapping[str, JsonValue] | None:
        found = self._rows.get((adapter, key))
        return None if found is None else dict(found)

    async def put(self, adapter: str, key: str, value: Mapping[str, JsonValue]) -> None:
        self._rows[(adapter, key)] = dict(value)

    async def list(self, adapter: str) -> Sequence[tuple[str, Mapping[str, JsonValue]]]:
        return sorted((key, dict(value)) for (a, key), value in self._rows.items() if a == adapter)
