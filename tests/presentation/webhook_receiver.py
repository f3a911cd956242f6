"""A webhook receiver for tests: a real aiohttp server on loopback that records every
request and answers as the test says (a status, after a delay)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` when it arrived."""
    status: int
    """What it was answered (-1: the answer never went out: timed out by the sender)."""

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def document(self) -> dict[str, Any]:
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed

    def verified(self, secret: str) -> dict[str, Any]:
        """The body, after ``standardwebhooks`` accepted its signature with ``secret``."""
        parsed = Webhook(secret).verify(self.body, self.headers)
        assert isinstance(parsed, dict)
        return parsed


Answer = Callable[["Received"], tuple[int, float]]
"""(status, seconds to wait before answering) for a request."""


@dataclass
class Receiver:
    base: str
    answer: Answer = field(default=lambda received: (204, 0.0))
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    @property
    def delivered(self) -> list[Received]:
        """The requests answered 2xx, in arrival order."""
        return [r for r in self.received if 200 <= r.status < 300]

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Wait until ``count`` requests have been answered 2xx."""
        deadline = time.monotonic() + timeout
        while len(self.delivered) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{len(self.delivered)} of {count} webhooks delivered: "
                    f"{[(r.id, r.status) for r in self.received]}"
                )
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                continue
        return self.delivered

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        arrived = time.monotonic()
        probe = Received(path=request.path, headers=headers, body=body, at=arrived, status=0)
        status, delay = self.answer(probe)
        index = len(self.received)
        self.received.append(Received(request.path, headers, body, arrived, -1))
        if delay:
            await asyncio.sleep(delay)
            if request.transport is None or request.transport.is_closing():
                return web.Response(status=status)  # the sender gave up: never answered
        self.received[index] = Received(request.path, headers, body, arrived, status)
        self.arrived.set()
        return web.Response(status=status, text="" if status < 300 else f"answer {status}")


@asynccontextmanager
async def receiver(answer: Answer | None = None) -> AsyncIterator[Receiver]:
    """A receiver listening on 127.0.0.1 (any free port) until the block ends."""
    made = Receiver(base="")
    if answer is not None:
        made.answer = answer

    async def handle(request: web.Request) -> web.Response:
        return await made._handle(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    made.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield made
    finally:
        await runner.cleanup()
