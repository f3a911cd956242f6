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

``QuickPollServer`` makes every socket it opens one of these: python-engineio creates
its sockets in one place and files each in ``sockets`` at once, before anything reads
from its queue, so the socket's class is set there (``sockets`` stays such a table when
python-engineio replaces it); and it makes its WebSockets through
the server's own table of async classes (``_async["websocket"]``), which the server
gets a copy of with ``QuickWebSocket`` in it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import engineio
from engineio import async_socket, exceptions
from engineio.async_drivers import aiohttp as aiohttp_driver


class QuickPollSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    """``AsyncSocket`` whose ``poll`` waits without a task."""

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
