"""Two engine processes sharing a real Redis that dies and comes back: what one of them
published meanwhile reaches the other's visitors once Redis is back, without waiting
for the chat's next event (``presentation.redis_resync``)."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from business.model import ConversationId
from presentation import WebSettings
from tests.harness import World
from tests.presentation.conftest import StartServer, ready_agent
from tests.presentation.test_scale_out import _free_port
from tests.visitor_client import Visitor


@dataclass
class Redis:
    """A redis-server on one port that the test may kill and start again."""

    server: str
    port: int = field(default_factory=_free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.server,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(10):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    redis = Redis(server)
    await redis.start()
    try:
        yield redis
    finally:
        await redis.kill()


async def test_what_was_published_while_redis_was_down_reaches_the_other_process_once_back(
    redis: Redis, start_server: StartServer, world: World
) -> None:
    # redis comes first: fixtures stop in reverse order, so both engines go before it.
    settings = WebSettings(redis_url=redis.url)
    await start_server(settings=settings)  # process A: the agent's side (``world``)
    server_b = await start_server(settings=settings, world=world.another_process())
    tab = Visitor(url=server_b.url)
    try:
        await tab.connect({"tenant": "default"})
        conversation_id = await tab.start("hello")
        agent = await ready_agent(world)
        await world.agent_says(agent, conversation_id, "before")
        before = [e for e in await tab.drain(0.5) if e["type"] == "message"]
        assert [e["text"] for e in before] == ["hello", "before"]

        await redis.kill()
        await world.agent_says(agent, conversation_id, "while down 1")
        last = await world.agent_says(agent, conversation_id, "while down 2")
        assert await tab.drain(0.5) == []  # published by A into a dead Redis: lost

        await redis.start()
        # No further event in the chat: the engine itself sends the newest one again.
        event = await asyncio.wait_for(tab.events.get(), 5)
        assert (event["seq"], event["text"]) == (last.seq, "while down 2")
        # Past the visitor's last seq by two: a gap, which its sync fills.
        synced = await tab.ok(
            "sync", {"conversation_id": conversation_id, "after_seq": before[-1]["seq"]}
        )
        assert [e.get("text") for e in synced["events"]] == ["while down 1", "while down 2"]
        # And the live path works again. (Process A also asks B to resync, having
        # failed to publish: the newest event may come once more, as clients allow.)
        after = await world.agent_says(agent, ConversationId(conversation_id), "after")
        got = {e["seq"]: e.get("text") for e in await tab.drain(0.5) if e["seq"] > last.seq}
        assert got == {after.seq: "after"}
    finally:
        await tab.disconnect()


async def test_a_process_that_could_not_publish_has_the_others_resync_once_it_can(
    redis: Redis, start_server: StartServer, world: World
) -> None:
    # Process A alone cannot publish for a while (its Redis user loses the right to),
    # while B's subscription stays up: only A knows that events were lost on the way.
    admin = aioredis.Redis.from_url(redis.url)
    try:
        await admin.acl_setuser(
            "engine-a",
            enabled=True,
            passwords=["+secret"],
            keys=["*"],
            channels=["*"],
            categories=["+@all"],
        )
        url_a = f"redis://engine-a:secret@127.0.0.1:{redis.port}/0"
        await start_server(settings=WebSettings(redis_url=url_a))
        server_b = await start_server(
            settings=WebSettings(redis_url=redis.url), world=world.another_process()
        )
        tab = Visitor(url=server_b.url)
        try:
            await tab.connect({"tenant": "default"})
            conversation_id = await tab.start("hello")
            agent = await ready_agent(world)
            await world.agent_says(agent, conversation_id, "before")
            assert "before" in [e.get("text") for e in await tab.drain(0.5)]

            await admin.acl_setuser("engine-a", enabled=True, commands=["-publish"])
            last = await world.agent_says(agent, conversation_id, "not published")
            assert await tab.drain(0.5) == []

            await admin.acl_setuser("engine-a", enabled=True, commands=["+publish"])
            event = await asyncio.wait_for(tab.events.get(), 5)
            assert (event["seq"], event["text"]) == (last.seq, "not published")
        finally:
            await tab.disconnect()
    finally:
        await admin.aclose()
