"""``/agents``: the agents of the key's tenant.

Through the same use case as ``chat-engine agent add``: ``AgentService.add_agent``
creates and updates; ``AgentRemovalService.remove`` removes. Unlike the CLI, creating
refuses an address that has an agent already (change that one with PATCH), so that a
typo in an address cannot silently reconfigure a colleague.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from business import commands as c
from business.errors import AlreadyExists, NotFound
from business.model import Agent, AgentId, AgentRole, QueueName as QueueNameValue, TenantId
from business.services import Services
from presentation.api.fields import PatchBody, QueueName, Skills
from presentation.api.pagination import Page, PageQuery, page_of
from presentation.api.registry import (
    ADMINS,
    READERS,
    Body,
    Call,
    Empty,
    NoContent,
    Params,
    Resource,
)

resource = Resource(
    "agents",
    "Agents of your tenant: who takes chats, from which queues, how many at once.",
)

Queues = list[QueueName]


class AgentOut(BaseModel):
    id: str = Field(description="the engine's id of the agent")
    address: str = Field(description="the bare JID of their XMPP account")
    name: str = Field(description="the name visitors see")
    max_chats: int
    queues: list[str]
    role: AgentRole
    supervises: list[str] = Field(description="queues a supervisor supervises")
    skills: dict[str, int]
    auto_accept: bool = Field(description="offered chats are taken at once")
    ready: bool = Field(description="available for chats now (from their XMPP presence)")


class AgentPage(Page[AgentOut]):
    pass


class AgentCreate(Body):
    address: str = Field(
        min_length=3, max_length=1023, description="their bare JID, e.g. alice@example.com"
    )
    name: str | None = Field(
        default=None, max_length=100, description="left out: the JID's user part"
    )
    max_chats: int = Field(ge=1, le=100, description="chats at the same time")
    queues: Queues = Field(min_length=1, max_length=50, description="the queues they serve")
    role: AgentRole = AgentRole.AGENT
    supervises: Queues = Field(default=[], max_length=50, description="only for a supervisor")
    skills: Skills = {}
    auto_accept: bool = False


class AgentPatch(PatchBody):
    """What to change; the rest stays."""

    name: str | None = Field(default=None, max_length=100)
    max_chats: int | None = Field(default=None, ge=1, le=100)
    queues: Queues | None = Field(default=None, min_length=1, max_length=50)
    role: AgentRole | None = None
    supervises: Queues | None = Field(default=None, max_length=50)
    skills: Skills | None = None
    auto_accept: bool | None = None


class AgentPath(Params):
    # Bounded so that even a long path, percent-encoded, stays far below aiohttp's limit
    # of a request line (8190 bytes), which would be refused outside the API.
    agent_id: str = Field(min_length=1, max_length=255)


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        address=agent.address,
        name=agent.name,
        max_chats=agent.max_chats,
        queues=list(agent.queues),
        role=agent.role,
        supervises=list(agent.supervises),
        skills=dict(agent.skills),
        auto_accept=agent.auto_accept,
        ready=agent.ready,
    )


def _queues(names: Queues) -> tuple[QueueNameValue, ...]:
    return tuple(QueueNameValue(name) for name in names)


async def _tenants_agent(services: Services, tenant_id: TenantId, agent_id: str) -> Agent:
    """The agent; ``NotFound`` for another tenant's exactly as for nobody's."""
    agent = await services.agents.get_agent(AgentId(agent_id))
    if agent is None or agent.tenant_id != tenant_id:
        raise NotFound(f"unknown agent {agent_id!r}")
    return agent


@resource.route(
    "GET",
    "/agents",
    summary="List agents",
    scopes=READERS,
    params=Empty,
    query=PageQuery,
    body=Empty,
    response=AgentPage,
)
async def list_agents(call: Call[Empty, PageQuery, Empty]) -> AgentPage:
    """By id (which never changes, unlike a name, and is short, unlike an address)."""
    agents = await call.services.agents.list_agents(call.tenant_id)
    items, cursor = page_of(agents, lambda a: (a.id,), call.query, 1)
    return AgentPage(items=[agent_out(a) for a in items], next_cursor=cursor)


@resource.route(
    "GET",
    "/agents/{agent_id}",
    summary="Get an agent",
    scopes=READERS,
    params=AgentPath,
    query=Empty,
    body=Empty,
    response=AgentOut,
)
async def get_agent(call: Call[AgentPath, Empty, Empty]) -> AgentOut:
    return agent_out(await _tenants_agent(call.services, call.tenant_id, call.params.agent_id))


@resource.route(
    "POST",
    "/agents",
    summary="Add an agent",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=AgentCreate,
    response=AgentOut,
    status=201,
    errors=(409,),
)
async def create_agent(call: Call[Empty, Empty, AgentCreate]) -> AgentOut:
    """Queues they serve or supervise that do not exist yet are created. An address
    that has an agent already (in any tenant: an XMPP account is one person) is a
    conflict; change that agent with PATCH."""
    body = call.body
    agents = call.services.agents
    address = agents.normalize_address(body.address)
    if await agents.find_agent(address) is not None:
        raise AlreadyExists(f"{address} is an agent already")
    agent = await agents.add_agent(
        c.AddAgent(
            address=address,
            queues=_queues(body.queues),
            max_chats=body.max_chats,
            tenant_id=call.tenant_id,
            name=body.name,
            role=body.role,
            supervises=_queues(body.supervises),
            skills=body.skills,
            auto_accept=body.auto_accept,
        )
    )
    return agent_out(agent)


@resource.route(
    "PATCH",
    "/agents/{agent_id}",
    summary="Change an agent",
    scopes=ADMINS,
    params=AgentPath,
    query=Empty,
    body=AgentPatch,
    response=AgentOut,
)
async def update_agent(call: Call[AgentPath, Empty, AgentPatch]) -> AgentOut:
    """What `chat-engine agent add` does for an existing agent. Raising their capacity
    or giving them queues routes waiting chats to them at once."""
    agent = await _tenants_agent(call.services, call.tenant_id, call.params.agent_id)
    body = call.body
    updated = await call.services.agents.add_agent(
        c.AddAgent(
            address=agent.address,
            queues=agent.queues if body.queues is None else _queues(body.queues),
            max_chats=body.max_chats or agent.max_chats,
            tenant_id=call.tenant_id,
            name=body.name,
            role=body.role,
            supervises=None if body.supervises is None else _queues(body.supervises),
            skills=body.skills,
            auto_accept=body.auto_accept,
        )
    )
    return agent_out(updated)


@resource.route(
    "DELETE",
    "/agents/{agent_id}",
    summary="Remove an agent",
    scopes=ADMINS,
    params=AgentPath,
    query=Empty,
    body=Empty,
    response=NoContent,
    status=204,
    errors=(409,),
)
async def remove_agent(call: Call[AgentPath, Empty, Empty]) -> NoContent:
    """Only an agent with no open chat (of their own, offered, or joined): otherwise
    409 `conflict`. Their ended conversations keep their name."""
    await call.services.agent_removal.remove(
        c.RemoveAgent(tenant_id=call.tenant_id, agent_id=AgentId(call.params.agent_id))
    )
    return NoContent()
