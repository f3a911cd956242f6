"""The fault-injecting proxy of ``bench.faults``, between plain sockets: it forwards
bytes unchanged, and each fault does what the scenarios rely on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from bench.faults._proxy import FaultProxy


class EchoServer:
    """A blocking echo server on a thread: what it gets, it sends back."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self._threads: list[threading.Thread] = []

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._echo, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:
                pass


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield server
    server.sock.close()


@pytest.fixture
async def proxy(echo: EchoServer) -> AsyncIterator[FaultProxy]:
    async with FaultProxy("127.0.0.1", echo.port) as running:
        yield running


def _client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _exchange(port: int, data: bytes) -> tuple[bytes, float]:
    """Send ``data`` through a plain socket, read as much back; (what came, seconds)."""
    with _client(port) as sock:
        started = time.monotonic()
        sock.sendall(data)
        got = b""
        while len(got) < len(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got, time.monotonic() - started


async def test_bytes_pass_through_unchanged_both_ways(proxy: FaultProxy, echo: EchoServer) -> None:
    data = os.urandom(1_000_000)
    got, _ = await asyncio.to_thread(_exchange, proxy.port, data)
    assert got == data
    assert echo.accepted == 1
    assert proxy.counters.upstream_bytes == proxy.counters.downstream_bytes == len(data)


async def test_latency_delays_each_direction(proxy: FaultProxy) -> None:
    proxy.set_latency(0.3, "upstream")
    got, upstream_only = await asyncio.to_thread(_exchange, proxy.port, b"ping")
    assert got == b"ping"
    assert upstream_only >= 0.3
    proxy.set_latency(0.3)  # both ways: twice on the round trip
    got, both = await asyncio.to_thread(_exchange, proxy.port, b"ping")
    assert got == b"ping"
    assert both >= 0.6
    proxy.clear()
    # Order is kept under latency: many small writes come back in sequence.
    proxy.set_latency(0.05)
    data = b"".join(f"{i:05d}".encode() for i in range(2000))
    got, _ = await asyncio.to_thread(_exchange, proxy.port, data)
    assert got == data


async def test_bandwidth_cap_slows_a_transfer(proxy: FaultProxy) -> None:
    proxy.set_bandwidth(100_000, "downstream")
    data = os.urandom(60_000)
    got, seconds = await asyncio.to_thread(_exchange, proxy.port, data)
    assert got == data
    # 60 kB at 100 kB/s: the writer sleeps 0.6 s over its chunks (minus the last one's).
    assert seconds >= 0.3


async def test_a_stall_holds_everything_then_delivers_it(proxy: FaultProxy) -> None:
    with _client(proxy.port) as sock:
        sock.sendall(b"before")
        assert await asyncio.to_thread(sock.recv, 100) == b"before"
        proxy.stall(0.5)
        started = time.monotonic()
        sock.sendall(b"during")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(sock.recv, 100)
        sock.settimeout(5)
        assert await asyncio.to_thread(sock.recv, 100) == b"during"
        assert time.monotonic() - started >= 0.5


async def test_a_stall_ends_early_when_lifted(proxy: FaultProxy) -> None:
    with _client(proxy.port) as sock:
        proxy.stall(30)
        sock.sendall(b"held")
        await asyncio.sleep(0.2)
        proxy.stall(0)
        sock.settimeout(5)
        assert await asyncio.to_thread(sock.recv, 100) == b"held"


async def test_reset_breaks_every_connection_and_new_ones_work(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    first, second = _client(proxy.port), _client(proxy.port)
    with first, second:
        for sock in (first, second):
            sock.sendall(b"hi")
            assert await asyncio.to_thread(sock.recv, 100) == b"hi"
        assert proxy.reset() == 2
        for sock in (first, second):
            # A reset, not an orderly close: the peer sees ECONNRESET (or, if the RST
            # came before it read, nothing more and then an error on write).
            with pytest.raises(ConnectionResetError):
                await asyncio.to_thread(sock.recv, 100)
    got, _ = await asyncio.to_thread(_exchange, proxy.port, b"again")
    assert got == b"again"
    assert proxy.counters.connections == 3
    assert echo.accepted == 3


async def test_reset_drops_what_a_stall_held(proxy: FaultProxy) -> None:
    with _client(proxy.port) as sock:
        proxy.stall(30)
        sock.sendall(b"x" * 1000)
        for _ in range(100):
            if proxy.open_connections and proxy.counters.upstream_bytes == 0:
                await asyncio.sleep(0.02)  # let the proxy read it
        await asyncio.sleep(0.1)
        proxy.reset()
        with pytest.raises(ConnectionResetError):
            await asyncio.to_thread(sock.recv, 100)
    assert proxy.counters.upstream_bytes == 0
    assert proxy.counters.dropped_bytes == 1000


async def test_a_closed_client_closes_the_target_side(proxy: FaultProxy) -> None:
    with _client(proxy.port) as sock:
        sock.sendall(b"bye")
        assert await asyncio.to_thread(sock.recv, 100) == b"bye"
        sock.shutdown(socket.SHUT_WR)
        # The echo server sees the end, closes, and the proxy passes that back.
        assert await asyncio.to_thread(sock.recv, 100) == b""
    for _ in range(100):
        if proxy.open_connections == 0:
            break
        await asyncio.sleep(0.02)
    assert proxy.open_connections == 0


async def test_a_target_that_is_down_is_a_closed_connection() -> None:
    with contextlib.closing(socket.create_server(("127.0.0.1", 0))) as taken:
        port = taken.getsockname()[1]
    async with FaultProxy("127.0.0.1", port) as proxy, asyncio.timeout(5):
        with _client(proxy.port) as sock:
            try:
                data = await asyncio.to_thread(sock.recv, 100)
            except ConnectionResetError:
                data = b""
    assert data == b""
    assert proxy.counters.connections == 0
