"""A fault-injecting TCP proxy: everything between two parts of the system flows through
it, and a scenario changes how at run time.

``FaultProxy(target_host, target_port)`` listens on 127.0.0.1 (a free port unless one is
given) and opens one connection to the target for each connection it accepts. Each
direction of each connection is pumped by a reader that puts chunks in a bounded queue
and a writer that forwards them, so:

- ``latency``: a chunk is forwarded no earlier than ``latency`` seconds after it was
  read; chunks keep their order, and reading goes on meanwhile (a delay, not a stall);
- ``bandwidth``: at most that many bytes per second per connection and direction (None:
  no cap); the writer sleeps after each chunk for as long as its bytes take;
- ``stall(seconds)``: nothing is forwarded until the stall ends (the queue fills, then
  the reader stops reading, so TCP's own flow control pushes back on the sender, as a
  congested path or a frozen middlebox would);
- ``reset()``: every open connection is closed abruptly on both sides (RST, not FIN),
  and what was still queued in the proxy is lost, as a dropped NAT entry or a restarted
  load balancer would. New connections are accepted as before.

``upstream`` is client to target, ``downstream`` target to client; each has its own
``Shaping``. The bound on the queue (``QUEUE_CHUNKS`` chunks of at most ``CHUNK`` bytes)
keeps a proxy in front of a fast sender from holding more than a few MiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import struct
import time

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
QUEUE_CHUNKS = 64


@dataclasses.dataclass
class Shaping:
    """How one direction behaves now; read for every chunk, so a change applies at once
    (to chunks already queued too)."""

    latency: float = 0.0
    bandwidth: float | None = None
    """Bytes per second per connection; None: as fast as the sockets go."""
    stalled_until: float = 0.0
    """``time.monotonic()`` until which nothing is forwarded."""

    def clear(self) -> None:
        self.latency = 0.0
        self.bandwidth = None
        self.stalled_until = 0.0


@dataclasses.dataclass
class Counters:
    connections: int = 0
    resets: int = 0
    upstream_bytes: int = 0
    downstream_bytes: int = 0
    dropped_bytes: int = 0
    """Read but never forwarded: queued in the proxy when a reset came."""

    def add(self, name: str, count: int) -> None:
        setattr(self, name, getattr(self, name) + count)


class _Pipe:
    """One accepted connection and its connection to the target."""

    def __init__(
        self,
        proxy: FaultProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        target: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.client = client
        self.target = target
        self.queues: list[asyncio.Queue[tuple[float, bytes] | None]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.held: list[int] = []
        """Per writer: bytes taken from its queue and not yet forwarded."""

    def start(self) -> None:
        for reader, writer, shaping, counter in (
            (self.client[0], self.target[1], self.proxy.upstream, "upstream_bytes"),
            (self.target[0], self.client[1], self.proxy.downstream, "downstream_bytes"),
        ):
            queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)
            self.queues.append(queue)
            self.tasks.append(asyncio.create_task(self._read(reader, queue, shaping)))
            self.tasks.append(asyncio.create_task(self._write(writer, queue, shaping, counter)))

    async def _read(
        self,
        reader: asyncio.StreamReader,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        shaping: Shaping,
    ) -> None:
        try:
            while chunk := await reader.read(CHUNK):
                await queue.put((time.monotonic() + shaping.latency, chunk))
        except (ConnectionError, OSError):
            pass
        await queue.put(None)  # end of stream: the writer half-closes the other side

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        shaping: Shaping,
        counter: str,
    ) -> None:
        held = len(self.held)
        self.held.append(0)
        try:
            while (item := await queue.get()) is not None:
                due, chunk = item
                self.held[held] = len(chunk)
                while True:
                    # Both re-read on every turn: a stall or a latency set while this
                    # chunk waits applies to it.
                    wait = max(shaping.stalled_until, due) - time.monotonic()
                    if wait <= 0:
                        break
                    await asyncio.sleep(min(wait, 0.05))
                while chunk:
                    # Under a cap, in slices of a twentieth of a second's worth, so the
                    # bytes trickle as on a slow link rather than in bursts.
                    size = max(1, int(shaping.bandwidth / 20)) if shaping.bandwidth else len(chunk)
                    piece, chunk = chunk[:size], chunk[size:]
                    writer.write(piece)
                    await writer.drain()
                    self.held[held] -= len(piece)
                    self.proxy.counters.add(counter, len(piece))
                    if shaping.bandwidth:
                        await asyncio.sleep(len(piece) / shaping.bandwidth)
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            self.abort()

    def abort(self) -> None:
        """Close both connections with a reset; what is queued is dropped."""
        for queue in self.queues:
            while not queue.empty():
                item = queue.get_nowait()
                if item is not None:
                    self.proxy.counters.dropped_bytes += len(item[1])
        self.proxy.counters.dropped_bytes += sum(self.held)
        self.held = [0] * len(self.held)
        for _, writer in (self.client, self.target):
            _reset(writer)
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def finished(self) -> None:
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for _, writer in (self.client, self.target):
            writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST: SO_LINGER with a zero timeout makes close() discard the send buffer
    and reset the connection instead of the orderly FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Listens on ``host:port`` (a free port by default) and forwards each connection to
    ``target_host:target_port`` with the faults set on ``upstream`` and ``downstream``."""

    def __init__(
        self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.port = port
        self.upstream = Shaping()
        self.downstream = Shaping()
        self.counters = Counters()
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.reset()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def open_connections(self) -> int:
        return len(self._pipes)

    # -- the faults ---------------------------------------------------------------------

    def _directions(self, direction: str) -> tuple[Shaping, ...]:
        match direction:
            case "both":
                return (self.upstream, self.downstream)
            case "upstream":
                return (self.upstream,)
            case "downstream":
                return (self.downstream,)
        raise ValueError(f"direction must be both, upstream or downstream, not {direction!r}")

    def set_latency(self, seconds: float, direction: str = "both") -> None:
        for shaping in self._directions(direction):
            shaping.latency = seconds

    def set_bandwidth(self, bytes_per_second: float | None, direction: str = "both") -> None:
        for shaping in self._directions(direction):
            shaping.bandwidth = bytes_per_second

    def stall(self, seconds: float, direction: str = "both") -> None:
        """Stop forwarding for ``seconds`` from now (0 ends a stall at once)."""
        until = time.monotonic() + seconds
        for shaping in self._directions(direction):
            shaping.stalled_until = until

    def reset(self) -> int:
        """Reset every open connection; how many there were."""
        pipes = list(self._pipes)
        for pipe in pipes:
            pipe.abort()
        self.counters.resets += len(pipes)
        return len(pipes)

    def clear(self) -> None:
        """No latency, no cap, no stall."""
        self.upstream.clear()
        self.downstream.clear()

    # -- connections ------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            try:
                target = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError as exc:
                logger.warning("proxy %d: target unreachable: %s", self.port, exc)
                _reset(writer)
                return
            for _, w in ((reader, writer), target):
                sock = w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pipe = _Pipe(self, (reader, writer), target)
            self._pipes.add(pipe)
            self.counters.connections += 1
            pipe.start()
            try:
                await pipe.finished()
            finally:
                self._pipes.discard(pipe)
        finally:
            self._handlers.discard(task)
