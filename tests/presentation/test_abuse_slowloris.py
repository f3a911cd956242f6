"""Abuse, slowloris: many connections that send a request's headers a byte at a time and
never finish them. The event loop serves everyone else meanwhile; what must be bounded is
how long each is held (``http_idle_timeout_seconds``: aiohttp's own default is an hour).
Real aiohttp server on loopback, raw sockets; SQLite only (the web edge is the same on
every store).
"""

from __future__ import annotations

import asyncio

import pytest

from data import Database
from presentation import WebSettings
from tests.presentation.abuse_tools import (
    MIB,
    Bystander,
    SlowClient,
    describe,
    settled_rss,
)
from tests.presentation.conftest import StartServer

SLOW_CLIENTS = 200
IDLE_TIMEOUT = 1.0


@pytest.fixture
async def database(sqlite_database: Database) -> Database:
    return sqlite_database


async def test_slowloris_does_not_stop_a_visitor_and_is_cut_off_after_the_idle_timeout(
    start_server: StartServer,
) -> None:
    server = await start_server(settings=WebSettings(http_idle_timeout_seconds=IDLE_TIMEOUT))
    rss_before = settled_rss()
    slow = [await SlowClient.open(server.url) for _ in range(SLOW_CLIENTS)]
    try:
        # Half the timeout of dripping: each connection is still sending its headers.
        bystander = await Bystander.open(server.url)
        try:
            for _ in range(5):
                for client in slow:
                    client.drip()
                assert (await bystander.round_trip())["ok"]
                await asyncio.sleep(IDLE_TIMEOUT / 10)
            async with bystander.http.get(f"{server.url}/healthz") as health:
                assert health.status == 200
            print(describe(f"bystander among {SLOW_CLIENTS} slowloris", bystander.latencies))
        finally:
            await bystander.close()

        # Still dripping or not, none gets more than the timeout (with a margin).
        hung_up = await asyncio.gather(*(c.hung_up(timeout=IDLE_TIMEOUT * 3) for c in slow))
    finally:
        for client in slow:
            client.close()

    assert hung_up == [True] * SLOW_CLIENTS
    assert settled_rss() - rss_before < 64 * MIB


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    start_server: StartServer,
) -> None:
    server = await start_server(settings=WebSettings(http_idle_timeout_seconds=IDLE_TIMEOUT))
    client = await SlowClient.open(server.url)
    try:
        # It finishes this request after all, reads the answer, and then says nothing.
        client.writer.write(b"a\r\n\r\n")
        head = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")

        assert await client.hung_up(timeout=IDLE_TIMEOUT * 3)
    finally:
        client.close()
