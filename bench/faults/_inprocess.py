"""The engine's visitor edge in this process, and load visitors that talk to it.

The store scenarios fault PostgreSQL or Redis, not the engine, so the engine runs here:
the services ``bootstrap`` builds over the given database, and the aiohttp app with
python-socketio on a free port of 127.0.0.1. The visitors are python-socketio clients
that retry a refused or unanswered send with the same ``client_msg_id``, as the widget's
outbox does, and count every answer they get.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import socketio
from aiohttp import web

from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.services import Services
from chat_engine.bootstrap import bootstrap
from data import Database
from presentation import WebSettings, create_app

NAMESPACE = "/visitor"
ACK_TIMEOUT = 10.0
"""A send unanswered this long counts as a timeout (the engine hung) and is retried:
the widget's ``ACK_TIMEOUT_MS``."""
BACKOFF_MAX = 2.0
"""The widget waits up to 30 s between retries; a scenario has no time for that."""


def backoff(attempt: int) -> float:
    """The widget's backoff (``protocol.js``): half to all of 1, 2, 4 ... seconds."""
    base = min(BACKOFF_MAX, 2.0**attempt)
    return base / 2 + random.random() * base / 2


UNLIMITED = 1_000_000


def lifted(settings: WebSettings | None = None, **overrides: Any) -> WebSettings:
    """Web settings with the abuse limits lifted: every load visitor is on 127.0.0.1."""
    return WebSettings(
        event_burst=UNLIMITED,
        event_rate_per_second=float(UNLIMITED),
        sync_burst=UNLIMITED,
        sync_rate_per_second=float(UNLIMITED),
        connect_burst=UNLIMITED,
        connect_rate_per_second=float(UNLIMITED),
        new_visitor_burst=UNLIMITED,
        new_visitor_rate_per_second=float(UNLIMITED),
        conversation_burst=UNLIMITED,
        conversation_rate_per_second=float(UNLIMITED),
        max_sockets_per_address=UNLIMITED,
        **overrides,
    )


async def services_on(database: Database) -> Services:
    """The services over ``database``, migrated, with the default tenant and queue."""
    await database.migrate()
    services = bootstrap(uow=database.unit_of_work)
    await services.tenants.ensure_tenant(DEFAULT_TENANT, name="Faults", queues=(DEFAULT_QUEUE,))
    return services


@asynccontextmanager
async def serving(services: Services, settings: WebSettings) -> AsyncIterator[str]:
    """The app on a free port of 127.0.0.1 for as long as the block runs; yields its URL."""
    runner = web.AppRunner(create_app(services=services, settings=settings), shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@dataclass
class Tally:
    """Every answer the visitors got, over all of them."""

    codes: Counter[str] = field(default_factory=Counter)
    """Error acks by code."""
    timeouts: int = 0
    attempts: int = 0
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)
    """client_msg_id -> (conversation id, seq) of its first ok ack."""
    ack_changed: int = 0
    """Retries of an acked message whose ack named another seq (a second row)."""
    slowest: float = 0.0
    """Seconds the slowest answer took."""
    acked_at: dict[str, float] = field(default_factory=dict)
    """client_msg_id -> wall-clock time of its ok ack."""


@dataclass(kw_only=True)
class LoadVisitor:
    url: str
    number: int
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    conversation_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Every ``event`` received, in order."""
    _session: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.sio.on("session", self._on_session, namespace=NAMESPACE)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_session(self, _data: object) -> None:
        self._session.set()

    async def _on_event(self, data: dict[str, Any]) -> None:
        self.events.append(data)

    async def connect(self) -> None:
        await self.sio.connect(
            self.url,
            auth={"tenant": DEFAULT_TENANT},
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=10,
        )
        await asyncio.wait_for(self._session.wait(), 10)

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(
            event, payload, namespace=NAMESPACE, timeout=ACK_TIMEOUT
        )
        return ack

    async def start(self) -> None:
        ack = await self.call("conversation.start", {})
        if not ack.get("ok"):
            raise RuntimeError(f"conversation.start failed: {ack}")
        self.conversation_id = ack["conversation"]["id"]

    async def send(self, client_msg_id: str, tally: Tally, *, until: float) -> bool:
        """Send until acknowledged or ``until`` (wall clock) passes, retrying a refusal
        or a timeout with the same ``client_msg_id`` after the widget's backoff (capped
        at ``BACKOFF_MAX``)."""
        attempt = 0
        payload = {
            "conversation_id": self.conversation_id,
            "client_msg_id": client_msg_id,
            "text": f"text of {client_msg_id}",
        }
        while time.time() < until:
            tally.attempts += 1
            sent = time.monotonic()
            try:
                ack = await self.call("message.send", payload)
            except (TimeoutError, socketio.exceptions.TimeoutError):
                tally.timeouts += 1
                ack = {"ok": False, "error": {"code": "timeout"}}
            tally.slowest = max(tally.slowest, time.monotonic() - sent)
            if ack.get("ok"):
                seq = int(ack["message"]["seq"])
                first = tally.acked.setdefault(client_msg_id, (self.conversation_id, seq))
                tally.acked_at.setdefault(client_msg_id, time.time())
                if first[1] != seq:
                    tally.ack_changed += 1
                return True
            code = str(ack.get("error", {}).get("code"))
            if code != "timeout":
                tally.codes[code] += 1
            await asyncio.sleep(backoff(attempt))
            attempt += 1
        return False

    async def send_outbox(
        self, tally: Tally, *, first: float, interval: float, end: float, until: float
    ) -> int:
        """The widget's outbox: a new message every ``interval`` seconds from ``first``
        to ``end``, sent in order one at a time (each retried until acknowledged, or
        until ``until``), those written while one is retried waiting their turn.
        Returns how many were never acknowledged."""
        count = max(0, math.ceil((end - first) / interval))
        unacked = 0
        for number in range(count):
            await asyncio.sleep(max(0.0, first + number * interval - time.time()))
            if not await self.send(f"v{self.number}-m{number}", tally, until=until):
                unacked += 1
        return unacked

    async def close(self) -> None:
        await self.sio.disconnect()


async def connect_visitors(url: str, count: int) -> list[LoadVisitor]:
    """``count`` visitors, each connected with a conversation of its own (20 at a time)."""
    visitors = [LoadVisitor(url=url, number=n) for n in range(count)]
    gate = asyncio.Semaphore(20)

    async def ready(visitor: LoadVisitor) -> None:
        async with gate:
            await visitor.connect()
            await visitor.start()

    await asyncio.gather(*(ready(v) for v in visitors))
    return visitors
