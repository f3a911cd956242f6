"""Fixtures: business services, a real aiohttp server on loopback, real Socket.IO clients.

``services`` is the one place that decides what stores the data; switching it to the SQL
data layer changes nothing else here.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from aiohttp import web

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ConversationId, TenantId
from business.ports import UnitOfWorkFactory
from business.publishing import EventPublisher
from business.routing import Router
from business.services import AgentService, ChatService, SystemClock, ensure_tenant
from data import Database
from presentation import WebSettings, create_app
from tests.visitor_client import Visitor

WIDGET_SRC = Path(__file__).resolve().parents[2] / "presentation" / "widget"


@dataclass(kw_only=True)
class Services:
    chat: ChatService
    agents: AgentService
    publisher: EventPublisher
    router: Router
    uow: UnitOfWorkFactory

    def another_process(self) -> Services:
        """What a second engine process has: its own publisher, the same storage."""
        publisher = EventPublisher()
        clock = SystemClock()
        router = Router(uow=self.uow, clock=clock, publisher=publisher)
        return Services(
            chat=ChatService(uow=self.uow, publisher=publisher, router=router, clock=clock),
            agents=AgentService(uow=self.uow, router=router, clock=clock),
            publisher=publisher,
            router=router,
            uow=self.uow,
        )

    async def add_ready_agent(
        self, agent_id: str = "alice@agents.example", name: str = "Alice"
    ) -> AgentId:
        agent = await self.agents.add_agent(
            c.AddAgent(
                agent_id=AgentId(agent_id),
                queues=(DEFAULT_QUEUE,),
                max_chats=5,
                tenant_id=DEFAULT_TENANT,
                name=name,
            )
        )
        await self.agents.set_availability(c.SetAgentAvailability(agent_id=agent.id, ready=True))
        return agent.id

    async def agent_says(self, agent_id: AgentId, conversation_id: str, text: str) -> None:
        await self.chat.send_agent_message(
            c.SendAgentMessage(
                agent_id=agent_id, conversation_id=ConversationId(conversation_id), text=text
            )
        )


@pytest.fixture
async def services(database: Database) -> Services:
    """Services on the real data layer, SQLite and PostgreSQL (wired as chat_engine.engine)."""
    uow = database.unit_of_work
    clock = SystemClock()
    publisher = EventPublisher()
    router = Router(uow=uow, clock=clock, publisher=publisher)
    await ensure_tenant(uow, DEFAULT_TENANT, name="Northwind Coffee")
    await ensure_tenant(uow, TenantId("other"), name="Other shop")
    return Services(
        chat=ChatService(uow=uow, publisher=publisher, router=router, clock=clock),
        agents=AgentService(uow=uow, router=router, clock=clock),
        publisher=publisher,
        router=router,
        uow=uow,
    )


@dataclass(kw_only=True)
class Server:
    url: str
    app: web.Application


class StartServer(Protocol):
    def __call__(
        self,
        *,
        settings: WebSettings | None = None,
        health: Mapping[str, Callable[[], Awaitable[bool]]] | None = None,
        widget_dir: Path | None = None,
        services: Services | None = None,
    ) -> Awaitable[Server]: ...


@pytest.fixture
async def start_server(services: Services) -> AsyncIterator[StartServer]:
    default_services = services
    runners: list[web.AppRunner] = []

    async def start(
        *,
        settings: WebSettings | None = None,
        health: Mapping[str, Callable[[], Awaitable[bool]]] | None = None,
        widget_dir: Path | None = None,
        services: Services | None = None,
    ) -> Server:
        # Bound before the app is built so the app's public_url names the real port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = dataclasses.replace(settings or WebSettings(), public_url=url)
        wired = services or default_services
        app = create_app(
            chat=wired.chat,
            publisher=wired.publisher,
            settings=settings,
            health=health,
            widget_dir=widget_dir,
        )
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        runners.append(runner)
        await web.SockSite(runner, sock).start()
        return Server(url=url, app=app)

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server()


VisitorFactory = Callable[[], Visitor]


@pytest.fixture
async def new_visitor(server: Server) -> AsyncIterator[VisitorFactory]:
    made: list[Visitor] = []

    def make() -> Visitor:
        visitor = Visitor(url=server.url)
        made.append(visitor)
        return visitor

    yield make
    for visitor in made:
        await visitor.disconnect()


@pytest.fixture
async def visitor(new_visitor: VisitorFactory) -> Visitor:
    v = new_visitor()
    await v.connect({"tenant": "default"})
    return v
