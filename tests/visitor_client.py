"""A real python-socketio visitor client that records what it receives.

Shared by the visitor protocol tests and the end-to-end tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio

NAMESPACE = "/visitor"
TIMEOUT = 5.0
ACK_TIMEOUT = 15.0
"""How long a call waits for its ack. Two CI runs on a slower 2-core machine timed out a
``conversation.start`` at 5 s late in the run, while the other worker ran the cluster
load tests (the same start passed alone and under ``-n 2`` with the desk tests): 15 s
still tells a lost ack from a slow one."""

Json = dict[str, Any]


@dataclass(kw_only=True)
class Visitor:
    """A real python-socketio client on the /visitor namespace that records what it gets."""

    url: str
    sio: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    session: Json = field(default_factory=dict)
    events: asyncio.Queue[Json] = field(default_factory=asyncio.Queue)
    typing: asyncio.Queue[Json] = field(default_factory=asyncio.Queue)
    connect_error: Json | None = None
    _session_ready: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.sio.on("session", self._on_session, namespace=NAMESPACE)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)
        self.sio.on("typing", self._on_typing, namespace=NAMESPACE)
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)

    async def _on_session(self, data: Json) -> None:
        self.session = data
        self._session_ready.set()

    async def _on_event(self, data: Json) -> None:
        await self.events.put(data)

    async def _on_typing(self, data: Json) -> None:
        await self.typing.put(data)

    async def _on_connect_error(self, data: Json) -> None:
        self.connect_error = data

    @property
    def token(self) -> str:
        return str(self.session["visitor_token"])

    async def connect(
        self,
        auth: object,
        *,
        transports: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Json:
        """Connect and wait for ``session``; ``headers`` go on the HTTP requests (an
        ``Origin``, an ``X-Forwarded-For``)."""
        await self.sio.connect(
            self.url,
            auth=auth,
            headers=headers or {},
            namespaces=[NAMESPACE],
            transports=transports or ["websocket"],
            wait_timeout=TIMEOUT,
        )
        await asyncio.wait_for(self._session_ready.wait(), TIMEOUT)
        return self.session

    async def refused(self, auth: object, *, headers: dict[str, str] | None = None) -> Json:
        """Connect expecting a refusal; returns the connect_error data."""
        with pytest.raises(socketio.exceptions.ConnectionError):
            await self.connect(auth, headers=headers)
        assert self.connect_error is not None
        return self.connect_error

    async def call(self, event: str, *args: object) -> Json:
        result = await self.sio.call(event, *args, namespace=NAMESPACE, timeout=ACK_TIMEOUT)
        assert isinstance(result, dict), result
        return result

    async def ok(self, event: str, payload: object) -> Json:
        ack = await self.call(event, payload)
        assert ack["ok"] is True, ack
        return ack

    async def start(self, text: str | None = None, **payload: object) -> str:
        if text is not None:
            payload["message"] = {"client_msg_id": f"first-{len(text)}", "text": text}
        ack = await self.ok("conversation.start", payload)
        return str(ack["conversation"]["id"])

    async def next_event(self) -> Json:
        return await asyncio.wait_for(self.events.get(), TIMEOUT)

    async def event_of_type(self, kind: str) -> Json:
        while True:
            event = await self.next_event()
            if event["type"] == kind:
                return event

    async def drain(self, settle: float = 0.2) -> list[Json]:
        """Everything that arrives within ``settle`` seconds of quiet."""
        got: list[Json] = []
        while True:
            try:
                got.append(await asyncio.wait_for(self.events.get(), settle))
            except TimeoutError:
                return got

    async def disconnect(self) -> None:
        if not self.sio.connected:
            return
        if self.sio.transport() == "polling":
            # python-engineio's client waits for its pending long poll, which the server
            # holds for a whole ping interval (25 s); closing its HTTP session ends it now.
            read_loop = self.sio.eio.read_loop_task
            await self.sio.eio.disconnect(abort=True)
            await asyncio.wait_for(read_loop, TIMEOUT)
        else:
            await self.sio.disconnect()
