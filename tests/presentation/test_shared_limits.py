"""Rate limits shared by engine processes through a real Redis (``presentation.shared_limits``).

Two ``VisitorLimits`` stand for two processes. The sharing tests use the Redis at
127.0.0.1:6379 with a key prefix of their own; the outage test points at a port where
nothing listens and then starts a private ``redis-server`` there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from business.errors import RateLimited
from business.model import VisitorId
from presentation import WebSettings
from presentation.limits import VisitorLimits
from presentation.shared_limits import SharedBuckets, redis_buckets

REDIS = "redis://127.0.0.1:6379/0"
SETTINGS = dataclasses.replace(
    WebSettings(), connect_burst=5, connect_rate_per_second=0.01, conversation_burst=3
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _redis_or_skip() -> None:
    client = aioredis.Redis.from_url(REDIS, socket_connect_timeout=1)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as error:
        pytest.skip(f"no Redis at {REDIS}: {error}")
    finally:
        await client.aclose()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are removed after it."""
    await _redis_or_skip()
    name = f"test-limits-{uuid.uuid4().hex[:12]}:"
    yield name
    client = aioredis.Redis.from_url(REDIS)
    try:
        keys = [key async for key in client.scan_iter(match=f"{name}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _allowed(limits: VisitorLimits, address: str) -> bool:
    try:
        await limits.connection(address)
    except RateLimited:
        return False
    return True


async def test_two_processes_share_one_budget_per_address(prefix: str) -> None:
    first, second = redis_buckets(REDIS, prefix=prefix), redis_buckets(REDIS, prefix=prefix)
    try:
        one = VisitorLimits(SETTINGS, shared=first)
        two = VisitorLimits(SETTINGS, shared=second)
        # A client whose connects are balanced over both processes, in turns.
        answers = [await _allowed(one if i % 2 else two, "198.51.100.7") for i in range(10)]
        assert answers == [True] * 5 + [False] * 5, "each process handed out its own burst"
        # Another address has its own budget, in both processes.
        assert await _allowed(one, "198.51.100.8")
        assert await _allowed(two, "198.51.100.8")
        # The visitor's conversation changes are counted together too.
        visitor = VisitorId("v-shared")
        for limits in (one, two, one):
            await limits.conversation_change(visitor)
        with pytest.raises(RateLimited, match="wait"):
            await two.conversation_change(visitor)
    finally:
        await first.close()
        await second.close()


async def test_a_refusal_says_how_long_the_shared_bucket_takes_to_refill(prefix: str) -> None:
    buckets = redis_buckets(REDIS, prefix=prefix)
    try:
        assert [await buckets.take("t", "k", burst=2, rate=0.5) for _ in range(2)] == [0.0, 0.0]
        wait = await buckets.take("t", "k", burst=2, rate=0.5)
        # One token takes two seconds (less the few milliseconds the calls took).
        assert wait is not None
        assert 1.5 < wait <= 2.0
        # The key expires once the bucket would be full again: nothing is kept for ever.
        client = aioredis.Redis.from_url(REDIS)
        try:
            ttl = await client.pttl(f"{prefix}t:k")
        finally:
            await client.aclose()
        assert 0 < ttl <= 4001
    finally:
        await buckets.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _start_redis(port: int) -> asyncio.subprocess.Process:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    process = await asyncio.create_subprocess_exec(
        server,
        *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    async with asyncio.timeout(20):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return process


async def test_without_redis_each_process_keeps_its_own_budget_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis down: the limits do not open, they fall back to the per-process buckets
    (one warning per outage); once Redis answers again they are shared again."""
    port = _free_port()
    clock = Clock()
    url = f"redis://127.0.0.1:{port}/0"

    def buckets() -> SharedBuckets:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        return SharedBuckets(client, prefix="outage:", retry_after=5.0, clock=clock)

    first, second = buckets(), buckets()
    process: asyncio.subprocess.Process | None = None
    try:
        one = VisitorLimits(SETTINGS, shared=first, clock=clock)
        two = VisitorLimits(SETTINGS, shared=second, clock=clock)
        with caplog.at_level(logging.WARNING, logger="presentation.shared_limits"):
            answers = [await _allowed(one, "203.0.113.9") for _ in range(7)]
        assert answers == [True] * 5 + [False] * 2, "a process without Redis let all through"
        assert not first.available
        warnings = [r for r in caplog.records if "Redis did not answer" in r.getMessage()]
        assert len(warnings) == 1, "an outage is logged once, not per request"
        # The other process has its own budget meanwhile: per process, as without Redis.
        assert await _allowed(two, "203.0.113.9")

        process = await _start_redis(port)
        clock.now += 5.0  # past retry_after: Redis is asked again
        with caplog.at_level(logging.INFO, logger="presentation.shared_limits"):
            shared = [await _allowed(one if i % 2 else two, "203.0.113.10") for i in range(7)]
        assert shared == [True] * 5 + [False] * 2
        assert first.available
        assert second.available
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        await first.close()
        await second.close()
        if process is not None:
            process.terminate()
            await process.wait()
