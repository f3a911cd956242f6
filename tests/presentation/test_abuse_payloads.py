"""Abuse, payloads: oversized frames over WebSocket and long-polling, a permessage-deflate
bomb, compressed HTTP request bodies. Against the real aiohttp and python-socketio
server on loopback, with raw sockets speaking the wire format; a well-behaved visitor
from another address (``abuse_tools.Bystander``) keeps chatting, and what the process
holds must come back down. SQLite only: the web edge is the same on every store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import http_parser

from business.model import DEFAULT_TENANT, ApiKeyScope
from data import Database
from presentation import WebSettings
from presentation.app import ENGINEIO_KEY, SIO_KEY
from tests.harness import World
from tests.presentation.abuse_tools import (
    MIB,
    Bystander,
    RawWebSocket,
    deflate_frame_bomb,
    describe,
    gzip_bomb,
    settled_rss,
)
from tests.presentation.api.conftest import make_key
from tests.presentation.conftest import Server, StartServer
from tests.presentation.raw_engineio import StalledPolling

RSS_BOUND = 64 * MIB
"""How much more the process may hold after an attack than before it (generous: the
allocator keeps some of what it freed); each attack below would hold far more."""
BUFFER = 65_536
"""``max_http_buffer_size`` in these tests: the largest Engine.IO packet."""
MESSAGE_TOO_BIG: int = 1009
"""The WebSocket close code for a message over the limit (RFC 6455, 7.4.1)."""


@pytest.fixture
async def database(sqlite_database: Database) -> Database:
    return sqlite_database


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server(settings=WebSettings(max_http_buffer_size=BUFFER))


@pytest.fixture
async def bystander(server: Server) -> AsyncIterator[Bystander]:
    b = await Bystander.open(server.url)
    yield b
    await b.close()


async def _one_connection_left(server: Server) -> None:
    """Until the server holds only the bystander's Engine.IO connection."""
    for _ in range(300):
        if len(server.app[ENGINEIO_KEY]) == 1:
            return
        await asyncio.sleep(0.01)
    assert len(server.app[ENGINEIO_KEY]) == 1


# -- oversized frames ---------------------------------------------------------------------


async def test_oversized_websocket_frames_close_that_connection_only(
    server: Server, bystander: Bystander
) -> None:
    rss_before = settled_rss()
    # A frame that claims a gibibyte and sends a few bytes: refused on its header.
    claims = await RawWebSocket.open(server.url)
    claims.send_frame(b"4" + b"x" * 10, length=1 << 30)
    # A frame that really is larger than the limit.
    sends = await RawWebSocket.open(server.url)
    sends.send_frame(b"4" + b"x" * (4 * BUFFER))

    codes = await asyncio.gather(claims.close_code(), sends.close_code())

    assert list(codes) == [MESSAGE_TOO_BIG, MESSAGE_TOO_BIG]
    assert (await bystander.round_trip())["ok"]
    await _one_connection_left(server)
    assert settled_rss() - rss_before < RSS_BOUND


async def test_an_oversized_long_polling_post_is_refused_and_its_session_closed(
    server: Server, bystander: Bystander
) -> None:
    """python-engineio itself would close the session and then wait for the client to
    poll once more, holding the request for good if it never does (this client never
    polls)."""
    polling = await StalledPolling.open(server.url)
    chunked = await StalledPolling.open(server.url)
    try:
        status = await asyncio.wait_for(polling.send("2" + "x" * (2 * BUFFER)), 5)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b"x" * BUFFER

        # Without a Content-Length, python-engineio would read nothing and answer 200.
        async with chunked.http.post(
            f"{server.url}/socket.io/?EIO=4&transport=polling&sid={chunked.sid}",
            data=body(),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        ) as response:
            refusal = await response.json()
            chunked_status = response.status
    finally:
        await polling.close()
        await chunked.close()

    assert status == 413
    assert chunked_status == 411
    assert refusal["code"] == "too_large"
    sockets = server.app[SIO_KEY].eio.sockets
    assert all(sockets[sid].closed for sid in (polling.sid, chunked.sid) if sid in sockets)
    await _one_connection_left(server)
    assert (await bystander.round_trip())["ok"]


# -- decompression bombs ------------------------------------------------------------------


async def test_a_permessage_deflate_bomb_is_cut_off_at_the_size_limit(
    server: Server, bystander: Bystander
) -> None:
    bomb = deflate_frame_bomb(256)  # 256 MiB of zeros in about 256 KiB
    ws = await RawWebSocket.open(server.url, deflate=True)
    # aiohttp negotiates compression for python-engineio's WebSockets: it must be bounded.
    assert ws.deflate
    rss_before = settled_rss()

    ws.send_frame(bomb, compressed=True)
    code = await ws.close_code()

    print(f"permessage-deflate bomb of {len(bomb)} bytes: RSS {settled_rss() - rss_before:+d}")
    assert code == MESSAGE_TOO_BIG
    assert settled_rss() - rss_before < RSS_BOUND
    assert (await bystander.round_trip())["ok"]
    await _one_connection_left(server)


async def test_compressed_request_bodies_are_refused_without_being_inflated(
    server: Server,
    bystander: Bystander,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inflated: list[int] = []
    feed_data = http_parser.DeflateBuffer.feed_data

    def counting(self: http_parser.DeflateBuffer, chunk: bytes, size: int) -> bool:
        inflated.append(size)
        return feed_data(self, chunk, size)

    monkeypatch.setattr(http_parser.DeflateBuffer, "feed_data", counting)
    bomb = gzip_bomb(64)  # 64 MiB of zeros in about 64 KiB
    key = await make_key(world, ApiKeyScope.ADMIN, DEFAULT_TENANT)
    polling = await StalledPolling.open(server.url)
    url = server.url
    targets = {
        "long-polling": (
            f"{url}/socket.io/?EIO=4&transport=polling&sid={polling.sid}",
            {"Content-Type": "text/plain;charset=UTF-8"},
        ),
        "REST API": (
            f"{url}/api/v1/queues",
            {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
        ),
        "analytics": (
            f"{url}/api/v1/analytics/events?tenant=default",
            {"Content-Type": "application/json", "Origin": url},
        ),
        "upload": (
            f"{url}/visitor-api/v1/files",
            {"Content-Type": "multipart/form-data; boundary=b", "X-Chat-Tenant": "default"},
        ),
    }
    rss_before = settled_rss()
    answers: dict[str, tuple[int, str, str]] = {}
    try:
        async with aiohttp.ClientSession() as http:
            for name, (target, headers) in targets.items():
                for encoding in ("gzip", "deflate"):
                    async with http.post(
                        target, data=bomb, headers={**headers, "Content-Encoding": encoding}
                    ) as response:
                        problem = await response.json(content_type=None)
                        answers[f"{name} {encoding}"] = (
                            response.status,
                            problem["code"],
                            problem["detail"],
                        )
            # Not compressed, the same endpoints still read bodies (a control).
            async with http.post(
                f"{url}/api/v1/queues",
                json={"name": "sales", "title": "Sales"},
                headers={"Authorization": f"Bearer {key}"},
            ) as created:
                assert created.status == 201, await created.text()
    finally:
        await polling.close()

    assert len(answers) == 8
    for name, (status, code, detail) in answers.items():
        assert (status, code) == (415, "invalid_input"), name
        assert "must not be compressed" in detail, name
    # Not one chunk was inflated, not even the rest aiohttp reads after a refusal.
    assert inflated == []
    assert settled_rss() - rss_before < RSS_BOUND
    assert (await bystander.round_trip())["ok"]
    print(describe("bystander, after the bombs", bystander.latencies))


async def test_an_upload_whose_part_headers_are_too_long_is_refused(server: Server) -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=" + b"x" * 20_000 + b"\r\n\r\n"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/visitor-api/v1/files",
            data=body,
            headers={"Content-Type": "multipart/form-data; boundary=b", "X-Chat-Tenant": "default"},
        ) as response,
    ):
        problem = await response.json()

    # Not an internal error: the client's malformed body, said so.
    assert response.status == 400
    assert problem["code"] == "invalid_input"
    assert "malformed" in problem["detail"]
