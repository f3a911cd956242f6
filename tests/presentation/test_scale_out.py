"""Two engine processes sharing a real Redis as python-socketio's message queue."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import web

from business import commands as c
from business.model import ConversationId
from presentation import WebSettings, create_app
from tests.harness import World
from tests.presentation.conftest import StartServer, ready_agent
from tests.visitor_client import Visitor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        server,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                break
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        await process.wait()


async def test_a_tab_on_another_process_gets_events_typing_and_replies(
    redis_url: str, start_server: StartServer, world: World
) -> None:
    # redis_url comes first in the signature: fixtures stop in reverse order, so both
    # engines are gone before Redis is.
    settings = WebSettings(redis_url=redis_url)
    server_a = await start_server(settings=settings)
    server_b = await start_server(settings=settings, world=world.another_process())
    tab_a = Visitor(url=server_a.url)
    tab_b = Visitor(url=server_b.url)
    try:
        await tab_a.connect({"tenant": "default"})
        await tab_b.connect({"tenant": "default", "visitor_token": tab_a.token})
        assert tab_b.session["visitor_id"] == tab_a.session["visitor_id"]

        conversation_id = await tab_a.start("hello from process A")
        assert [(e["seq"], e["type"]) for e in await tab_b.drain(0.5)] == [
            (1, "state.changed"),
            (2, "message"),
        ]
        await tab_b.ok(
            "message.send",
            {"conversation_id": conversation_id, "client_msg_id": "b-1", "text": "from B"},
        )
        assert [e["seq"] for e in await tab_a.drain(0.5)] == [1, 2, 3]

        agent = await ready_agent(world)
        await world.messaging.set_agent_typing(
            c.SetAgentTyping(
                agent_id=agent, conversation_id=ConversationId(conversation_id), composing=True
            )
        )
        typing = await asyncio.wait_for(tab_b.typing.get(), 5)
        assert typing["from"] == {"kind": "agent", "name": "Alice"}
        await world.agent_says(agent, conversation_id, "Hi both tabs")
        got = [e for e in await tab_b.drain(0.5) if e["type"] == "message"]
        assert [(e["seq"], e["text"]) for e in got] == [(3, "from B"), (6, "Hi both tabs")]
    finally:
        await tab_a.disconnect()
        await tab_b.disconnect()


async def test_cleanup_stops_the_message_queue_and_closes_its_redis_connections(
    redis_url: str, world: World
) -> None:
    admin = aioredis.Redis.from_url(redis_url)
    try:
        before = len(await admin.client_list())
        app = create_app(services=world.services, settings=WebSettings(redis_url=redis_url))
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            v = Visitor(url=f"http://127.0.0.1:{runner.addresses[0][1]}")
            try:
                await v.connect({"tenant": "default"})
                await v.start("published through Redis")
                await v.drain()
            finally:
                await v.disconnect()
            # The listener's subscription and the publisher's connection.
            assert len(await admin.client_list()) >= before + 2
        finally:
            await runner.cleanup()

        running = [
            task
            for task in asyncio.all_tasks()
            if not task.done() and "Manager" in task.get_coro().__qualname__  # type: ignore[union-attr]
        ]
        assert running == []
        # Redis notices a closed connection on its next event-loop turn.
        for _ in range(100):
            if len(await admin.client_list()) == before:
                break
            await asyncio.sleep(0.05)
        assert len(await admin.client_list()) == before
    finally:
        await admin.aclose()
