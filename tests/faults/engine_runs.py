"""One engine run after another over the same database, for the fault models: the
services as ``chat_engine.bootstrap`` wires them, the real aiohttp app with its
Socket.IO server on loopback, and a restart that drops every in-memory part (services,
caches, the database pool) and builds them again, as a new process would."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from typing import Any

from aiohttp import web
from sqlalchemy import text

from business.clock import SystemClock
from business.model import DEFAULT_QUEUE
from business.validation import Limits
from data import Database
from presentation import WebSettings, create_app
from tests.harness import World, make_world

GENEROUS = WebSettings(
    # A model talks a lot on one socket: budgets that never get in its way.
    event_burst=100_000,
    event_rate_per_second=10_000.0,
    sync_burst=100_000,
    sync_rate_per_second=10_000.0,
    conversation_burst=1_000,
    conversation_rate_per_second=1_000.0,
    connect_burst=10_000,
    connect_rate_per_second=10_000.0,
    # Small pages, so that a sync after a few missed events takes several replies.
    sync_reply_max_bytes=1024,
)
LIMITS = Limits(max_sync_events=3)


@dataclasses.dataclass
class EngineRun:
    """One run of the engine: a database pool, the services, the web app."""

    database: Database
    world: World
    runner: web.AppRunner
    url: str


async def start_engine(database: Database) -> EngineRun:
    world = await make_world(
        uow=database.unit_of_work, clock=SystemClock(), limits=LIMITS, queues=(DEFAULT_QUEUE,)
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(
        services=world.services, settings=dataclasses.replace(GENEROUS, public_url=url)
    )
    # Connected visitors are cut off at once rather than after aiohttp's grace period.
    runner = web.AppRunner(app, shutdown_timeout=0.05)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return EngineRun(database=database, world=world, runner=runner, url=url)


async def stop_engine(run: EngineRun) -> None:
    await run.runner.cleanup()
    await run.world.services.bots.settled()
    await run.database.dispose()


async def restart_engine(old: EngineRun) -> EngineRun:
    """Stop ``old`` and start a new run on a new pool over the same database."""
    url = old.database.url.render_as_string(hide_password=False)
    connect_args: dict[str, Any] = {}
    if old.database.dialect == "postgresql":  # the test's own schema
        async with old.database.begin() as connection:
            schema = (await connection.execute(text("SELECT current_schema()"))).scalar_one()
        connect_args = {"server_settings": {"search_path": schema}}
    await stop_engine(old)
    return await start_engine(Database.from_url(url, connect_args=connect_args))


async def cancel_the_rest() -> None:
    """What the servers left running (Engine.IO's pings of cut sockets) ends here."""
    left = asyncio.all_tasks() - {asyncio.current_task()}
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
