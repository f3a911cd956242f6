"""Fixtures: the shared harness on the real data layer, a real aiohttp server on loopback,
real Socket.IO clients.

``world`` is the one place that decides what stores the data (SQLite and PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from aiohttp import web

from business.clock import SystemClock
from business.model import DEFAULT_QUEUE, AgentId, TenantId
from data import Database
from presentation import MetricsSources, WebSettings, create_app, make_runner
from tests.harness import World, make_world
from tests.visitor_client import Visitor

WIDGET_SRC = Path(__file__).resolve().parents[2] / "presentation" / "widget"


async def ready_agent(
    world: World, address: str = "alice@agents.example", name: str = "Alice"
) -> AgentId:
    """A ready agent in the default queue with room for five chats."""
    return await world.agent(
        AgentId(address), name=name, queues=(DEFAULT_QUEUE,), max_chats=5, ready=True
    )


@pytest.fixture
async def world(database: Database) -> World:
    """The services on the real data layer, SQLite and PostgreSQL, with the real clock."""
    return await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        queues=(DEFAULT_QUEUE,),
        tenants={TenantId("other"): "Other shop"},
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
        reported_only: Collection[str] = (),
        widget_dir: Path | None = None,
        world: World | None = None,
        metrics: MetricsSources | None = None,
        api_docs_dir: Path | None = None,
    ) -> Awaitable[Server]: ...


@pytest.fixture
async def start_server(world: World) -> AsyncIterator[StartServer]:
    default_world = world
    runners: list[web.AppRunner] = []

    async def start(
        *,
        settings: WebSettings | None = None,
        health: Mapping[str, Callable[[], Awaitable[bool]]] | None = None,
        reported_only: Collection[str] = (),
        widget_dir: Path | None = None,
        world: World | None = None,
        metrics: MetricsSources | None = None,
        api_docs_dir: Path | None = None,
    ) -> Server:
        # Bound before the app is built so the app's public_url names the real port.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = dataclasses.replace(settings or WebSettings(), public_url=url)
        wired = world or default_world
        app = create_app(
            services=wired.services,
            settings=settings,
            health=health,
            reported_only=reported_only,
            widget_dir=widget_dir,
            metrics=metrics,
            api_docs_dir=api_docs_dir,
        )
        runner = make_runner(app, shutdown_timeout=1.0)
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
