"""A bound on what waits to be sent to each visitor socket.

python-engineio puts every outgoing packet of a socket in an unbounded ``asyncio.Queue``
that one writer task empties. When a client stops reading, TCP's window closes, aiohttp's
WebSocket writer waits for the transport to drain, and the queue grows with every reply
and push: 60 small ``sync`` requests made 135 MB that only that client could free. So a
socket whose queue reaches ``max_queued_packets`` is disconnected. Replies are checked as
they are about to be queued and before a request starts; pushed events, which any
process may send, by a periodic look at every socket.

How the backlog is read: python-engineio has no hook on its send path and no public size
of a socket's backlog. The least intrusive reading is that queue's length,
``sio.eio.sockets[eio_sid].queue.qsize()``: plain attributes (no underscore, stable since
python-engineio 2) and asyncio's public API. Weighed and left: overriding the private
``_engineio_server_class`` hook to install a bounded queue (a full queue would block the
emitter that serves every socket in a room), and the transport's
``get_write_buffer_size()`` (public, but it sees only asyncio's buffer, never engineio's
queue, and only for a WebSocket opened directly: the JavaScript client starts with
long-polling and upgrades on another connection).

Packets, not bytes, are counted: each packet is bounded by construction (a sync reply by
``sync_reply_max_bytes``, an event by the text and field limits), so bytes are too.

Cutting a consumer off: ``close(wait=False, abort=True)`` on the Engine.IO socket, because
python-socketio's ``disconnect`` leaves the Engine.IO connection open and
python-engineio's waits for the queue to drain, which a client that does not read never
lets happen. That runs the namespace's disconnect handler and refuses further sends.
Then the TCP connection of the WebSocket, if there is one, is aborted: its writer is
stuck waiting for the client, holding the packets it took, until the connection goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import socketio
from aiohttp import web

logger = logging.getLogger(__name__)


class OutputBound:
    """Disconnects sockets of ``namespace`` whose unsent packets reach ``max_queued_packets``."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        *,
        namespace: str,
        max_queued_packets: int,
        check_seconds: float,
    ) -> None:
        self._sio = sio
        self._max = max_queued_packets
        self._check_seconds = check_seconds
        self._namespace = namespace
        # Engine.IO sid -> the TCP transport of the WebSocket it upgraded to; the connect
        # environ holds only the request the connection started with.
        self._upgrades: dict[str, asyncio.Transport] = {}

    def _queued(self, eio_sid: str) -> int:
        socket = self._sio.eio.sockets.get(eio_sid)
        return 0 if socket is None else int(socket.queue.qsize())

    async def keeps_up(self, sid: str) -> bool:
        """True if ``sid`` is within the bound; otherwise it is disconnected now."""
        eio_sid = self._sio.manager.eio_sid_from_sid(sid, self._namespace)
        if eio_sid is None:
            return True  # gone already; python-socketio drops what is sent to it
        if self._queued(eio_sid) < self._max:
            return True
        await self._cut(sid, eio_sid)
        return False

    async def watch(self) -> None:
        """Look at every socket each ``check_seconds``, for backlogs of pushed events."""
        while True:
            await asyncio.sleep(self._check_seconds)
            try:
                participants = list(self._sio.manager.get_participants(self._namespace, None))
                for sid, eio_sid in participants:
                    if self._queued(eio_sid) >= self._max:
                        await self._cut(sid, eio_sid)
            except Exception:
                logger.exception("checking the sockets' output backlog failed")

    async def _cut(self, sid: str, eio_sid: str) -> None:
        socket = self._sio.eio.sockets.get(eio_sid)
        if socket is None or socket.closed or socket.closing:
            return  # being closed already (another request of the same client noticed)
        transport = self._transport(sid, eio_sid)
        logger.warning(
            "socket %s stopped reading (%d packets waiting); disconnected",
            sid,
            self._queued(eio_sid),
        )
        await socket.close(wait=False, abort=True, reason=self._sio.reason.SERVER_DISCONNECT)
        if transport is not None:
            transport.abort()

    def _transport(self, sid: str, eio_sid: str) -> asyncio.Transport | None:
        """The TCP connection of ``sid``'s WebSocket; None on long-polling, where no
        writer waits for the client and closing the socket is enough."""
        upgraded = self._upgrades.get(eio_sid)
        if upgraded is not None:
            return upgraded
        environ = self._sio.get_environ(sid, self._namespace)
        request = environ.get("aiohttp.request") if isinstance(environ, dict) else None
        if isinstance(request, web.BaseRequest) and _is_websocket(request):
            # Connected over a WebSocket from the start: this request is that connection.
            return request.transport
        return None

    def websocket_transport(self, eio_sid: str) -> asyncio.Transport | None:
        """The TCP connection of the WebSocket Engine.IO session ``eio_sid`` upgraded to,
        while it lives (None for one that did not upgrade)."""
        return self._upgrades.get(eio_sid)

    @contextlib.contextmanager
    def websocket_upgrade(self, request: web.BaseRequest) -> Iterator[None]:
        """Around the handling of an Engine.IO request: remembers the connection of a
        WebSocket that upgrades an existing session while that WebSocket lives."""
        sid = request.query.get("sid")
        transport = request.transport
        if sid is None or transport is None or not _is_websocket(request):
            yield
            return
        # setdefault: a second upgrade of the same session is refused by python-engineio
        # and must not replace the first.
        registered = self._upgrades.setdefault(sid, transport) is transport
        try:
            yield
        finally:
            if registered:
                del self._upgrades[sid]


def _is_websocket(request: web.BaseRequest) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"
