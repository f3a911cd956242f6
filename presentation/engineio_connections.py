"""Bounds on Engine.IO connections, below the visitor namespace.

The limits of ``presentation.limits`` apply when a client connects to the ``/visitor``
namespace. But an Engine.IO connection exists before that (its handshake, a polling
request or a WebSocket), and python-socketio keeps it, with its environ, its packet
queue and its writer task, for as long as the client answers pings, whether or not it
ever connects to a namespace. Unbounded, one address could hold thousands of them (a
raw WebSocket that answers pings and says nothing else), past ``max_sockets_per_address``.

So, per client address, the Engine.IO connections open in this process are counted and
held to ``max_connections_per_address`` (a handshake beyond it is answered 429 with a
``rate_limited`` body), and a connection that has not connected to the namespace within
``connect_timeout_seconds`` is closed. A long-polling POST too large to read is refused
here too (``refuse_oversized_post``).

Reached through python-engineio's public handler table: ``sio.eio.handlers`` holds the
``connect`` and ``disconnect`` handlers python-socketio registered; they are wrapped, not
replaced. python-engineio calls ``connect`` before a new connection is answered (a
refusal there means the connection never existed, so no ``disconnect`` follows) and
``disconnect`` once for every connection it accepted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import socketio
from aiohttp import web

from presentation.errors import RATE_LIMITED, TOO_LARGE
from presentation.limits import VisitorLimits
from presentation.output_bound import OutputBound

logger = logging.getLogger(__name__)

REFUSED_KEY: Final = web.RequestKey("engineio_refused", bool)
"""Set on a handshake request this module refused (``presentation.app`` answers 429)."""

_TOO_MANY: Final = {
    "code": RATE_LIMITED,
    "message": "too many open connections from your network; close some chat windows "
    "or wait a while, then reconnect",
}

Clock = Callable[[], float]


@dataclass(slots=True)
class _Pending:
    """A connection not yet seen connected to the namespace."""

    opened: float
    request: web.BaseRequest | None


class EngineIoConnections:
    """Counts Engine.IO connections by client address, refuses those over the cap and
    closes those that do not connect to ``namespace`` in time."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        limits: VisitorLimits,
        output: OutputBound,
        namespace: str,
        max_per_address: int,
        connect_timeout: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self._sio = sio
        self._limits = limits
        self._output = output
        self._namespace = namespace
        self._max = max_per_address
        self._timeout = connect_timeout
        self._clock = clock
        self._addresses_of: dict[str, str] = {}
        self._addresses: Counter[str] = Counter()
        # Insertion order is opening order: a sweep stops at the first one still young.
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        """Engine.IO connections counted."""
        return len(self._addresses_of)

    @property
    def pending(self) -> int:
        """Of those, the ones not yet seen connected to the namespace."""
        return len(self._pending)

    def install(self) -> None:
        """Wrap python-socketio's Engine.IO ``connect`` and ``disconnect`` handlers."""
        handlers: dict[str, Callable[..., Awaitable[Any]]] = self._sio.eio.handlers
        inner_connect = handlers["connect"]
        inner_disconnect = handlers["disconnect"]

        async def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            if not self._admit(eio_sid, environ):
                return _TOO_MANY
            try:
                answer = await inner_connect(eio_sid, environ)
            except BaseException:
                self._forget(eio_sid)  # refused: no disconnect will follow
                raise
            if answer is not None and answer is not True:
                self._forget(eio_sid)
            return answer

        async def disconnect(eio_sid: str, reason: Any = None) -> Any:
            self._forget(eio_sid)
            return await inner_disconnect(eio_sid, reason)

        self._sio.eio.on("connect", connect)
        self._sio.eio.on("disconnect", disconnect)

    def _admit(self, eio_sid: str, environ: dict[str, Any]) -> bool:
        request = environ.get("aiohttp.request")
        if not isinstance(request, web.BaseRequest):
            request = None
            address = self._limits.address(None, ())
        else:
            address = self._limits.address(
                request.remote, request.headers.getall("X-Forwarded-For", ())
            )
        if self._addresses[address] >= self._max:
            logger.info("Engine.IO handshake from %s refused: %d open", address, self._max)
            if request is not None:
                request[REFUSED_KEY] = True
            return False
        self._addresses[address] += 1
        self._addresses_of[eio_sid] = address
        self._pending[eio_sid] = _Pending(opened=self._clock(), request=request)
        return True

    def _forget(self, eio_sid: str) -> None:
        self._pending.pop(eio_sid, None)
        address = self._addresses_of.pop(eio_sid, None)
        if address is None:
            return
        left = self._addresses[address] - 1
        if left > 0:
            self._addresses[address] = left
        else:
            del self._addresses[address]

    async def watch(self, every: float) -> None:
        """Each ``every`` seconds, close the connections that are late to connect."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.sweep()
            except Exception:
                logger.exception("closing Engine.IO connections late to connect failed")

    async def sweep(self) -> None:
        """Close every connection opened ``connect_timeout`` ago or earlier that has not
        connected to the namespace; forget those python-engineio no longer holds."""
        deadline = self._clock() - self._timeout
        late: list[tuple[str, _Pending]] = []
        for eio_sid, pending in self._pending.items():
            if pending.opened > deadline:
                break
            late.append((eio_sid, pending))
        for eio_sid, pending in late:
            if self._pending.pop(eio_sid, None) is None:
                continue  # gone while an earlier one was being closed
            socket = self._sio.eio.sockets.get(eio_sid)
            if socket is None:
                # Gone without a disconnect (never expected): the count must not leak.
                self._forget(eio_sid)
            elif self._sio.manager.sid_from_eio_sid(eio_sid, self._namespace) is None:
                await self._close(eio_sid, socket, pending.request)

    async def _close(self, eio_sid: str, socket: Any, request: web.BaseRequest | None) -> None:
        transport = self._output.websocket_transport(eio_sid)
        if transport is None and request is not None and _is_websocket(request):
            transport = request.transport  # a WebSocket from the start: this request
        logger.info(
            "Engine.IO connection %s from %s did not connect within %s s; closed",
            eio_sid,
            self._addresses_of.get(eio_sid),
            self._timeout,
        )
        if not socket.closed and not socket.closing:
            await socket.close(wait=False, abort=True, reason=self._sio.reason.SERVER_DISCONNECT)
        self._forget(eio_sid)
        if transport is not None:
            # Its reader would otherwise wait for the client's next frame.
            transport.abort()


async def refuse_oversized_post(
    sio: socketio.AsyncServer, request: web.BaseRequest
) -> web.Response | None:
    """The answer to a long-polling POST that is too large to read, or None to let
    python-engineio take it.

    python-engineio refuses a body over ``max_http_buffer_size`` by its Content-Length,
    then closes the session and waits for its packet queue to drain, which only the
    client's next poll does: a client that never polls again left that request, its
    task and its session held for good (the session's count already released). Here
    the session is closed without waiting. A POST without a Content-Length (chunked)
    would be read as empty and its body ignored; it is refused as well.
    """
    if request.method != "POST":
        return None
    limit: int = sio.eio.max_http_buffer_size
    length = request.content_length
    if length is not None and length <= limit:
        return None
    socket = sio.eio.sockets.get(request.query.get("sid", ""))
    if socket is not None and not socket.closed and not socket.closing:
        await socket.close(wait=False, abort=True, reason=sio.reason.TRANSPORT_ERROR)
    if length is None:
        status, message = 411, "send the payload with a Content-Length"
    else:
        status, message = 413, f"the payload is larger than {limit} bytes"
    response = web.json_response({"code": TOO_LARGE, "message": message}, status=status)
    response.force_close()
    return response


def _is_websocket(request: web.BaseRequest) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"
