"""``QuickPollSocket``: the writer's ``poll`` returns what python-engineio's would, and
the visitor server's sockets use it and ``QuickWebSocket``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
from engineio import async_socket, exceptions, packet
from engineio.async_drivers import aiohttp as aiohttp_driver

from presentation.engineio_writer import QuickPollServer, QuickPollSocket, QuickWebSocket
from presentation.settings import WebSettings
from presentation.socketio_server import build_server
from tests.presentation.socketio_serving import serving

NAMESPACE = "/chat"


def _socket(ping_interval: float = 25, ping_timeout: float = 20) -> QuickPollSocket:
    server = QuickPollServer(
        async_mode="aiohttp", ping_interval=ping_interval, ping_timeout=ping_timeout
    )
    return QuickPollSocket(server, "sid-1")


def _text(data: str) -> packet.Packet:
    return packet.Packet(packet.MESSAGE, data)


async def test_queued_packets_come_at_once_in_order() -> None:
    sock = _socket()
    for data in ("a", "b", "c"):
        sock.queue.put_nowait(_text(data))
    packets = await sock.poll()
    assert [p.data for p in packets] == ["a", "b", "c"]
    assert sock.queue.empty()


async def test_a_poll_waits_for_the_first_packet_then_takes_the_rest() -> None:
    sock = _socket()
    polled = asyncio.ensure_future(sock.poll())
    await asyncio.sleep(0.01)
    assert not polled.done()
    sock.queue.put_nowait(_text("late"))
    sock.queue.put_nowait(_text("later"))
    packets = await asyncio.wait_for(polled, 5)
    assert [p.data for p in packets] == ["late", "later"]


async def test_a_none_ends_a_poll_and_is_queued_again_as_python_engineio_does() -> None:
    sock = _socket()
    sock.queue.put_nowait(_text("last"))
    sock.queue.put_nowait(None)
    sock.queue.put_nowait(_text("queued after"))
    assert [p.data for p in await sock.poll()] == ["last"]
    # python-engineio puts the None back at the end of the queue.
    assert [p.data for p in await sock.poll()] == ["queued after"]
    assert await sock.poll() == []  # the socket closes
    assert sock.queue.empty()


@pytest.mark.parametrize(
    "queued",
    [["a"], ["a", "b", "c"], [None], ["a", None], ["a", None, "b", "c"], ["a", None, None]],
)
async def test_polls_return_what_python_engineios_own_return(queued: list[str | None]) -> None:
    async def polls(sock: async_socket.AsyncSocket) -> list[list[str]]:
        for data in queued:
            sock.queue.put_nowait(None if data is None else _text(data))
        results = []
        while not sock.queue.empty():
            results.append([p.data for p in await sock.poll()])
        return results

    plain = async_socket.AsyncSocket(_socket().server, "sid-2")
    assert await polls(_socket()) == await polls(plain)


async def test_a_none_first_is_the_end() -> None:
    sock = _socket()
    sock.queue.put_nowait(None)
    assert await sock.poll() == []


async def test_no_packet_within_the_ping_window_is_queue_empty() -> None:
    sock = _socket(ping_interval=0.05, ping_timeout=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(exceptions.QueueEmpty):
        await sock.poll()
    assert loop.time() - started >= 0.09
    # The timer went with the wait: a packet queued now is polled normally.
    sock.queue.put_nowait(_text("after"))
    assert [p.data for p in await sock.poll()] == ["after"]


async def test_a_cancelled_poll_is_queue_empty() -> None:
    sock = _socket()
    polled = asyncio.ensure_future(sock.poll())
    await asyncio.sleep(0.01)
    polled.cancel()
    with pytest.raises(exceptions.QueueEmpty):
        await polled


def test_only_plain_sockets_are_turned() -> None:
    server = QuickPollServer(async_mode="aiohttp")

    class Other(QuickPollSocket):
        pass

    other = Other(server, "s2")
    server.sockets["s2"] = other
    assert type(server.sockets["s2"]) is Other


def test_sockets_stay_quick_when_python_engineio_replaces_the_table() -> None:
    server = QuickPollServer(async_mode="aiohttp")
    server.sockets["s1"] = async_socket.AsyncSocket(server, "s1")
    server.sockets = {}  # what AsyncServer.disconnect() does once all are closed
    server.sockets["s2"] = async_socket.AsyncSocket(server, "s2")
    assert type(server.sockets["s2"]) is QuickPollSocket


@pytest.fixture
async def served() -> AsyncIterator[tuple[socketio.AsyncServer, str]]:
    sio = build_server(WebSettings(), None)

    @sio.on("echo", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: Any) -> None:
        for n in range(3):
            await sio.emit("echoed", f"{data}-{n}", to=sid, namespace=NAMESPACE)

    async with serving(sio) as url:
        yield sio, url


async def test_the_visitor_servers_websockets_poll_quickly_and_deliver_in_order(
    served: tuple[socketio.AsyncServer, str],
) -> None:
    sio, url = served
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[str] = asyncio.Queue()

    @client.on("echoed", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def on_echoed(data: str) -> None:
        received.put_nowait(data)

    await client.connect(url, namespaces=[NAMESPACE], transports=["websocket"])
    try:
        assert isinstance(sio.eio, QuickPollServer)
        assert sio.eio._async["websocket"] is QuickWebSocket
        # Only this server's table: python-engineio's own is as it was.
        assert aiohttp_driver._async["websocket"] is aiohttp_driver.WebSocket
        sockets = list(sio.eio.sockets.values())
        assert sockets
        assert all(type(s) is QuickPollSocket for s in sockets)
        for word in ("x", "y"):
            await client.emit("echo", word, namespace=NAMESPACE)
        got = [await asyncio.wait_for(received.get(), 5) for _ in range(6)]
        assert got == ["x-0", "x-1", "x-2", "y-0", "y-1", "y-2"]
    finally:
        await client.disconnect()
