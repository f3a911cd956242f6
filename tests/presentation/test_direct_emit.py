"""``DirectEmit``: every socket of the rooms gets the event once, and one failing send
does not keep it from the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from presentation.room_index import IndexedAsyncManager
from tests.presentation.socketio_serving import serving

NAMESPACE = "/chat"


@pytest.fixture
async def served() -> AsyncIterator[tuple[socketio.AsyncServer, str]]:
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=IndexedAsyncManager())

    @sio.on("connect", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any]) -> None:
        for room in auth["rooms"]:
            await sio.enter_room(sid, room, namespace=NAMESPACE)

    async with serving(sio) as url:
        yield sio, url


async def _client(url: str, rooms: list[str]) -> tuple[socketio.AsyncClient, asyncio.Queue[Any]]:
    client = socketio.AsyncClient(reconnection=False)
    received: asyncio.Queue[Any] = asyncio.Queue()

    @client.on("event", namespace=NAMESPACE)  # type: ignore[untyped-decorator]
    async def on_event(data: Any) -> None:
        received.put_nowait(data)

    await client.connect(
        url, auth={"rooms": rooms}, namespaces=[NAMESPACE], transports=["websocket"]
    )
    return client, received


async def test_each_socket_of_the_rooms_gets_the_event_once(
    served: tuple[socketio.AsyncServer, str],
) -> None:
    sio, url = served
    both, got_both = await _client(url, ["a", "b"])
    only_a, got_a = await _client(url, ["a"])
    neither, got_neither = await _client(url, ["c"])
    try:
        await sio.emit("event", {"n": 1}, to=["a", "b"], namespace=NAMESPACE)

        assert await asyncio.wait_for(got_both.get(), 5) == {"n": 1}
        assert await asyncio.wait_for(got_a.get(), 5) == {"n": 1}
        # The next event to "b" is the next one the socket in both rooms gets: the
        # first came to it once, not once per room.
        await sio.emit("event", {"n": 3}, to="b", namespace=NAMESPACE)
        assert await asyncio.wait_for(got_both.get(), 5) == {"n": 3}
        assert got_both.empty()
        assert got_a.empty()
        assert got_neither.empty()
    finally:
        for client in (both, only_a, neither):
            await client.disconnect()


async def test_a_failing_send_does_not_keep_the_event_from_the_others(
    served: tuple[socketio.AsyncServer, str], caplog: pytest.LogCaptureFixture
) -> None:
    sio, url = served
    first, got_first = await _client(url, ["room"])
    second, got_second = await _client(url, ["room"])
    broken = sio.manager.eio_sid_from_sid(first.get_sid(NAMESPACE), NAMESPACE)
    send = sio._send_eio_packet

    async def failing_for_one(eio_sid: str, pkt: Any) -> None:
        if eio_sid == broken:
            raise ConnectionResetError("gone")
        await send(eio_sid, pkt)

    sio._send_eio_packet = failing_for_one
    try:
        await sio.emit("event", {"n": 1}, to="room", namespace=NAMESPACE)
        assert await asyncio.wait_for(got_second.get(), 5) == {"n": 1}
        assert got_first.empty()
        assert "could not send 'event'" in caplog.text
    finally:
        sio._send_eio_packet = send
        for client in (first, second):
            await client.disconnect()
