"""python-engineio's WebSocket writer, without a task per packet or a check per send.

Each WebSocket of python-engineio has a writer task that takes the socket's packets from
its queue (``AsyncSocket.poll``) and writes them (``WebSocket.send``). ``poll`` waits
for the first packet with ``asyncio.wait_for(queue.get(), …)``, which on Python 3.11
wraps the wait in a task of its own and a timer, even when the packet is already
queued: under load (the visitor edge sends two or three packets per message) that was
about 4 % of the event loop. ``QuickPollSocket.poll`` takes a queued packet at once and
otherwise waits under ``asyncio.timeout`` (a timer, no task); what it returns, and when
it gives up, are python-engineio's: the queued packets in order up to a ``None`` (the
socket closes), ``QueueEmpty`` after ``ping_interval + ping_timeout`` without a packet
or when cancelled. python-engineio's aiohttp ``WebSocket.send`` asks
``inspect.iscoroutinefunction`` of aiohttp's send methods on every packet (1 % of the
loop), for aiohttp versions older than the engine supports; ``QuickWebSocket`` awaits
them.

python-engineio's WebSocket handler also starts a task for every frame it reads (it waits
for the next frame in a task of its own under ``asyncio.wait_for``): a task, a timer and
one more turn of the event loop for each packet a visitor sends, about 2.5 % of the
loop at K = 100 and a turn of latency at K = 1 (``bench.roundtrip``).
``QuickPollSocket._websocket_handler`` reads in the handler itself under
``asyncio.timeout``, and its writer waits for packets without a timer: the reader's
timeout, the client closing or the session closing ends the reader, and the reader
ends it. The rest is python-engineio's behaviour: the upgrade from long-polling (the
``probe`` ping, its pong, the NOOP that ends the pending poll, the UPGRADE packet), a
frame longer than ``max_http_buffer_size`` or no frame within ``ping_interval +
ping_timeout`` ending the connection, and the socket closed (``transport close``) once
the reader stops. Where it differs: a session closed without its transport (a ping
left unanswered) ends the WebSocket at the client's next frame, where python-engineio's
writer waited for its poll to time out; a frame that is no Engine.IO packet ends the
connection with a line in the log, where python-engineio's handler raised; and a
packet python-engineio fails on ends it after its traceback is logged, where
python-engineio logged one for every such packet and read on.

``QuickPollServer`` makes every socket it opens one of these: python-engineio creates
its sockets in one place and files each in ``sockets`` at once, before anything reads
from its queue, so the socket's class is set there (``sockets`` stays such a table when
python-engineio replaces it); and it makes its WebSockets through
the server's own table of async classes (``_async["websocket"]``), which the server
gets a copy of with ``QuickWebSocket`` in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
from engineio import async_socket, exceptions, packet
from engineio.async_drivers import aiohttp as aiohttp_driver


class QuickPollSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    """``AsyncSocket`` whose ``poll`` waits without a task, and whose WebSocket
    transport reads without a task per frame."""

    connected: bool

    async def poll(self) -> list[Any]:
        queue: asyncio.Queue[Any] = self.queue
        if queue.empty():
            try:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    first = await queue.get()
            except (TimeoutError, asyncio.CancelledError):
                raise exceptions.QueueEmpty() from None
        else:
            first = queue.get_nowait()
        queue.task_done()
        if first is None:
            return []
        packets = [first]
        while not queue.empty():
            pkt = queue.get_nowait()
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)  # for the next poll: the socket closes
                break
            packets.append(pkt)
        return packets

    async def _websocket_handler(self, ws: Any) -> None:
        """The WebSocket transport of this socket: its upgrade from long-polling if it
        started there, then the reader (this coroutine) and the writer (a task)."""
        server = self.server
        limit = server.max_http_buffer_size
        silence = server.ping_interval + server.ping_timeout

        async def frame() -> Any:
            data = await ws.wait()  # OSError once the client closed
            if data and len(data) > limit:
                raise ValueError("packet is too large")
            return data

        if self.connected:
            if not await self._upgraded(ws, frame):
                return
        else:
            self.connected = True
            self.upgraded = True
        writer = asyncio.ensure_future(self._write(ws))
        server.logger.info("%s: Upgrade to websocket successful", self.sid)
        # Until the session closes too: closed without its transport (a ping unanswered,
        # an oversized POST), it queues nothing that would end the writer.
        while not self.closed:
            try:
                async with asyncio.timeout(silence):
                    data = await frame()
            except (Exception, asyncio.CancelledError):
                break  # closed, too large, silent too long, or the server stopping
            if data is None:
                break
            try:
                pkt = packet.Packet(encoded_packet=data)
            except Exception:
                # Not an Engine.IO packet: python-engineio's handler died on it; ended
                # cleanly here, and without a traceback a client could fill logs with.
                server.logger.info("%s: not an Engine.IO packet; closing", self.sid)
                break
            try:
                await self.receive(pkt)
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                server.logger.info("Receive error -- socket is closed")
                break
            except Exception:
                # A packet python-engineio fails on (an unknown type number, say; the
                # handlers of events run in tasks of their own): logged once, and the
                # connection ended so that a client cannot repeat it for ever.
                server.logger.exception("Unknown receive error")
                break
        await self.queue.put(None)  # the writer ends on it
        await writer
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    async def _upgraded(self, ws: Any, frame: Callable[[], Awaitable[Any]]) -> bool:
        """The upgrade of a long-polling socket: the client's ``probe`` ping answered,
        the pending poll ended with a NOOP, then the client's UPGRADE. False (and the
        socket left on long-polling) if the client says anything else or closes."""

        async def next_packet() -> Any:
            try:
                return packet.Packet(encoded_packet=await frame())
            except OSError:
                return None  # the client closed

        self.upgrading = True  # sends wait in the queue meanwhile
        try:
            probe = await next_packet()
            if probe is None:
                return False
            if probe.packet_type != packet.PING or probe.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                return False
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            await self.queue.put(packet.Packet(packet.NOOP))  # ends the pending poll
            upgrade = await next_packet()
            if upgrade is None:
                return False
            if upgrade.packet_type != packet.UPGRADE:
                self.upgraded = False
                self.server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                    self.sid,
                    upgrade.data,
                )
                return False
            self.upgraded = True
            return True
        finally:
            self.upgrading = False

    async def _write(self, ws: Any) -> None:
        """Writes the queued packets in order until a ``None`` (or a failed write), then
        closes the WebSocket."""
        queue: asyncio.Queue[Any] = self.queue
        try:
            while True:
                pkt = await queue.get() if queue.empty() else queue.get_nowait()
                queue.task_done()
                if pkt is None:
                    break
                await ws.send(pkt.encode())
        except Exception:
            pass  # the client is gone: the reader notices it too
        await ws.close()


class QuickWebSocket(aiohttp_driver.WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp ``WebSocket`` whose ``send`` awaits aiohttp's
    (coroutines in every aiohttp the engine supports)."""

    async def send(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            await self._sock.send_bytes(message)
        else:
            await self._sock.send_str(message)


class _Sockets(dict[str, Any]):
    """python-engineio's ``sockets``, turning each socket filed in it into a
    ``QuickPollSocket`` (reads stay the plain dict's)."""

    def __setitem__(self, sid: str, socket: Any) -> None:
        if type(socket) is async_socket.AsyncSocket:
            socket.__class__ = QuickPollSocket
        super().__setitem__(sid, socket)


class QuickPollServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's ``AsyncServer`` whose sockets are ``QuickPollSocket`` and
    whose aiohttp WebSockets are ``QuickWebSocket``."""

    _sockets: _Sockets

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table: dict[str, Any] = self._async
        if table.get("websocket") is aiohttp_driver.WebSocket:
            self._async: dict[str, Any] = {**table, "websocket": QuickWebSocket}

    @property
    def sockets(self) -> dict[str, Any]:
        return self._sockets

    @sockets.setter
    def sockets(self, sockets: dict[str, Any]) -> None:
        # python-engineio sets it in __init__ and again, to a new dict, when it
        # disconnects every client at once.
        self._sockets = sockets if isinstance(sockets, _Sockets) else _Sockets(sockets)
