"""``QuickPollSocket``'s WebSocket transport: frames are read in the handler itself (no
task per frame), with python-engineio's upgrade, limits and closing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from engineio import packet

from presentation.engineio_writer import QuickPollServer, QuickPollSocket


class FakeWebSocket:
    """What the handler uses of python-engineio's aiohttp ``WebSocket``: frames come
    from ``incoming`` (an exception is raised as the read's), sends are recorded."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.sent: list[str] = []
        self.closed = False
        self.readers: set[asyncio.Task[Any] | None] = set()

    async def wait(self) -> Any:
        self.readers.add(asyncio.current_task())
        item = await self.incoming.get()
        if isinstance(item, BaseException):
            raise item
        return item

    async def send(self, message: str) -> None:
        self.sent.append(message)

    async def close(self) -> None:
        self.closed = True


async def ended(handler: Any, within: float = 2.0) -> None:
    """Wait for the handler (a coroutine or its task) to end by itself: not
    ``asyncio.wait_for``, whose cancellation the handler would swallow and return."""
    task = asyncio.ensure_future(handler)
    done, _ = await asyncio.wait({task}, timeout=within)
    if task not in done:
        task.cancel()
        raise AssertionError(f"the handler was still running after {within} s")
    task.result()


def setup(**options: Any) -> tuple[QuickPollSocket, list[str], list[str]]:
    """A socket of a server that records the messages it receives and its disconnects."""
    server = QuickPollServer(async_mode="aiohttp", async_handlers=False, **options)
    received: list[str] = []
    disconnects: list[str] = []

    @server.on("message")  # type: ignore[untyped-decorator]
    async def message(sid: str, data: str) -> None:
        received.append(data)

    @server.on("disconnect")  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, reason: str) -> None:
        disconnects.append(reason)

    sock = QuickPollSocket(server, "sid-1")
    server.sockets["sid-1"] = sock
    return sock, received, disconnects


async def test_frames_are_read_in_order_by_the_handler_itself_and_a_close_ends_it() -> None:
    sock, received, disconnects = setup()
    ws = FakeWebSocket()
    for data in ("hello", "wörld", "again"):
        ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, data).encode())
    ws.incoming.put_nowait(OSError())  # the client closed
    handler = asyncio.ensure_future(sock._websocket_handler(ws))
    await ended(handler)
    assert received == ["hello", "wörld", "again"]
    assert ws.readers == {handler}, "a frame was read in a task of its own"
    assert sock.connected
    assert sock.upgraded
    assert ws.closed
    assert sock.closed
    assert disconnects == ["transport close"]


async def test_the_writer_sends_what_is_queued_in_order_while_frames_are_read() -> None:
    sock, _, _ = setup()
    ws = FakeWebSocket()
    handler = asyncio.ensure_future(sock._websocket_handler(ws))
    await sock.send(packet.Packet(packet.MESSAGE, "first"))
    await sock.send(packet.Packet(packet.MESSAGE, "second"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert ws.sent == ["4first", "4second"]
    await sock.send(packet.Packet(packet.MESSAGE, "third"))
    await asyncio.sleep(0.01)
    assert ws.sent[-1] == "4third"
    assert not handler.done()
    ws.incoming.put_nowait(OSError())
    await ended(handler)
    assert ws.closed


async def test_a_client_silent_past_the_ping_timeout_is_closed() -> None:
    sock, _, disconnects = setup(ping_interval=0.05, ping_timeout=0.05)
    ws = FakeWebSocket()
    started = asyncio.get_running_loop().time()
    await ended(sock._websocket_handler(ws))
    assert asyncio.get_running_loop().time() - started >= 0.09
    assert ws.closed
    assert sock.closed
    assert disconnects == ["transport close"]


async def test_a_frame_over_the_buffer_size_ends_the_connection() -> None:
    sock, received, _ = setup(max_http_buffer_size=100)
    ws = FakeWebSocket()
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "small").encode())
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "x" * 200).encode())
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "never read").encode())
    await ended(sock._websocket_handler(ws))
    assert received == ["small"]
    assert ws.closed
    assert sock.closed


async def test_a_long_polling_socket_upgrades_on_probe_and_upgrade() -> None:
    sock, received, _ = setup()
    sock.connected = True  # it started on long-polling
    ws = FakeWebSocket()
    ws.incoming.put_nowait(packet.Packet(packet.PING, data="probe").encode())
    handler = asyncio.ensure_future(sock._websocket_handler(ws))
    for _ in range(5):
        await asyncio.sleep(0)
    assert sock.upgrading
    assert not sock.upgraded
    assert ws.sent == [packet.Packet(packet.PONG, data="probe").encode()]
    ended_poll = sock.queue.get_nowait()  # the pending poll ends on a NOOP
    assert ended_poll.packet_type == packet.NOOP
    ws.incoming.put_nowait(packet.Packet(packet.UPGRADE).encode())
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "on the websocket").encode())
    for _ in range(10):
        await asyncio.sleep(0)
    assert sock.upgraded
    assert not sock.upgrading
    assert received == ["on the websocket"]
    ws.incoming.put_nowait(OSError())
    await ended(handler)
    assert sock.closed


async def test_an_upgrade_without_the_probe_or_the_upgrade_packet_leaves_long_polling() -> None:
    for frames in (
        [packet.Packet(packet.MESSAGE, "no probe").encode()],
        [packet.Packet(packet.PING, data="probe").encode(), packet.Packet(packet.NOOP).encode()],
        [OSError()],
    ):
        sock, received, disconnects = setup()
        sock.connected = True
        ws = FakeWebSocket()
        for frame in frames:
            ws.incoming.put_nowait(frame)
        await ended(sock._websocket_handler(ws))
        assert not sock.upgraded, frames
        assert not sock.upgrading, frames
        assert received == [], frames
        assert disconnects == [], frames
        assert not sock.closed, frames
        assert not ws.closed, frames


async def test_a_session_closed_without_its_transport_ends_the_websocket_at_the_next_frame() -> (
    None
):
    """A ping left unanswered closes the session (not aborted): nothing is queued that
    would end the writer, so the reader ends it (found in review: the WebSocket, its
    tasks and the client's place under the per-address limit outlived the session)."""
    sock, _, disconnects = setup()
    ws = FakeWebSocket()
    handler = asyncio.ensure_future(sock._websocket_handler(ws))
    await asyncio.sleep(0.01)
    await sock.close(wait=False, abort=False)
    assert disconnects == ["server disconnect"]
    ws.incoming.put_nowait(packet.Packet(packet.NOOP).encode())  # the client still writes
    await ended(handler)
    assert ws.closed


@pytest.mark.parametrize(
    ("frame", "tracebacks"),
    [
        ("", 0),  # no Engine.IO packet: a line, no traceback
        ("x", 0),
        ("9nonsense", 1),  # a type python-engineio fails on: logged once, then closed
    ],
)
async def test_a_frame_that_is_no_packet_ends_the_connection_with_one_log_line_at_most(
    frame: str, tracebacks: int, caplog: pytest.LogCaptureFixture
) -> None:
    sock, received, _ = setup()
    ws = FakeWebSocket()
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "before").encode())
    for _ in range(3):  # a client repeating it is not read on
        ws.incoming.put_nowait(frame)
    ws.incoming.put_nowait(packet.Packet(packet.MESSAGE, "after").encode())
    with caplog.at_level(logging.INFO):
        await ended(sock._websocket_handler(ws))
    assert received == ["before"]
    assert ws.closed
    assert sock.closed
    assert len([r for r in caplog.records if r.exc_info]) == tracebacks
    assert ws.incoming.qsize() == 3
