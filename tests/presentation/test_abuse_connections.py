"""Abuse, connections: floods of connects from one address and through a trusted proxy,
Engine.IO connections that never connect, start/end churn. Each against the real aiohttp
and python-socketio server on loopback, while a well-behaved visitor from another
address (``abuse_tools.Bystander``) chats: its round trips must all succeed (their
latency is printed, never asserted), and what the server holds must come back down.

The per-limit behaviour is in ``test_abuse_limits.py``; these are the attacks. The web
edge is the same on every store, so these run on SQLite only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from data import Database
from presentation import WebSettings
from presentation.app import ENGINEIO_KEY, LIMITS_KEY, NAMESPACE_KEY, SIO_KEY
from presentation.visitor_namespace import NAMESPACE
from tests.presentation.abuse_tools import (
    MIB,
    Bystander,
    RawWebSocket,
    describe,
    settled_rss,
)
from tests.presentation.conftest import StartServer
from tests.visitor_client import Visitor

SLOW = 0.001
"""A refill rate so slow that nothing refills during a test."""
RSS_BOUND = 64 * MIB
"""How much more the process may hold after an attack than before it: generous, since
the allocator keeps some of what it freed; an attack that is held grows past it."""


@pytest.fixture
async def database(sqlite_database: Database) -> Database:
    return sqlite_database


@pytest.fixture
async def attackers() -> AsyncIterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    await asyncio.gather(*(v.disconnect() for v in made), return_exceptions=True)


def held(app: web.Application) -> dict[str, int]:
    """What the server holds for connections: the figures that must not grow."""
    sio = app[SIO_KEY]
    rooms = sio.manager.rooms.get(NAMESPACE, {})
    return {
        "engineio_sockets": sum(1 for s in sio.eio.sockets.values() if not s.closed),
        "environs": len(sio.environ),
        "counted_connections": len(app[ENGINEIO_KEY]),
        "visitor_sockets": app[NAMESPACE_KEY].socket_count,
        "counted_sockets": app[NAMESPACE_KEY].counted_sockets,
        "rooms": len(rooms),
        "room_members": sum(len(members) for members in rooms.values()),
    }


async def until_held(app: web.Application, expected: dict[str, int]) -> None:
    """Until the server holds ``expected`` (closes are handled after clients return)."""
    for _ in range(300):
        if held(app) == expected:
            return
        await asyncio.sleep(0.01)
    assert held(app) == expected


async def _attempt(url: str, made: list[Visitor], headers: dict[str, str] | None = None) -> str:
    """One connect: ``ok`` or the refusal's code and message."""
    v = Visitor(url=url)
    made.append(v)
    try:
        await v.connect({"tenant": "default"}, headers=headers)
    except Exception:
        error = v.connect_error or {}
        data = error.get("data") or {}
        return f"{data.get('code')}: {data.get('message')}"
    return "ok"


async def test_a_connect_flood_from_one_address_is_refused_while_another_address_chats(
    start_server: StartServer, attackers: list[Visitor]
) -> None:
    server = await start_server(
        settings=WebSettings(connect_burst=10, connect_rate_per_second=SLOW)
    )
    bystander = await Bystander.open(server.url)
    try:
        for _ in range(10):
            assert (await bystander.round_trip())["ok"]
        quiet = bystander.latencies[1:]  # the first is its connect and start
        baseline = held(server.app)
        rss_before = settled_rss()

        async def flood() -> list[str]:
            outcomes: list[str] = []
            for _ in range(4):  # 4 waves of 15 at once
                wave = [_attempt(server.url, attackers) for _ in range(15)]
                outcomes += await asyncio.gather(*wave)
            return outcomes

        attack = asyncio.ensure_future(flood())
        bystander.latencies.clear()
        acknowledged = await bystander.chat_while(attack)
        outcomes = attack.result()

        print(describe("bystander, quiet", quiet))
        print(describe("bystander, during the connect flood", bystander.latencies))
        # The burst and not one more; every other connect refused, saying what to do.
        assert outcomes.count("ok") == 10
        refusals = [o for o in outcomes if o != "ok"]
        assert len(refusals) == 50
        assert all(o.startswith("rate_limited: too many connections") for o in refusals)
        assert all("reconnect" in o for o in refusals)
        # The bystander, from its own address, was served throughout.
        assert acknowledged == len(bystander.latencies) >= 1
        assert (await bystander.round_trip())["ok"]

        await asyncio.gather(*(v.disconnect() for v in attackers))
        await until_held(server.app, baseline)
        assert settled_rss() - rss_before < RSS_BOUND
    finally:
        await bystander.close()


async def test_engineio_connections_that_never_connect_are_capped_per_address_and_closed(
    start_server: StartServer,
) -> None:
    """Below the namespace: a raw WebSocket that completes Engine.IO's handshake and
    never connects to ``/visitor`` is not a visitor socket, but the server holds it."""
    server = await start_server(
        settings=WebSettings(max_connections_per_address=5, connect_timeout_seconds=1.0)
    )
    bystander = await Bystander.open(server.url)
    silent: list[RawWebSocket] = []
    try:
        for _ in range(5):
            silent.append(await RawWebSocket.open(server.url))
        assert all(ws.upgraded for ws in silent)

        over = await RawWebSocket.open(server.url)
        over.abort()
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server.url}/socket.io/?EIO=4&transport=polling") as polling,
        ):
            refusal = await polling.json()
            polling_status = polling.status

        # Refused before the upgrade and on long-polling, saying why.
        assert over.handshake.startswith(b"HTTP/1.1 429")
        assert polling_status == 429
        assert refusal["code"] == "rate_limited"
        assert "too many open connections" in refusal["message"]
        # Another address is not affected.
        assert (await bystander.round_trip())["ok"]
        assert len(server.app[ENGINEIO_KEY]) == 6

        # None of the five connected to the namespace: each is closed after the timeout.
        codes = await asyncio.gather(*(ws.close_code(timeout=5) for ws in silent))
        assert codes == [None] * 5
        for _ in range(300):
            if len(server.app[ENGINEIO_KEY]) == 1:
                break
            await asyncio.sleep(0.01)
        assert len(server.app[ENGINEIO_KEY]) == 1  # the bystander's
        assert server.app[ENGINEIO_KEY].pending == 0
        # Their places are free again.
        again = await RawWebSocket.open(server.url)
        again.abort()
        assert again.upgraded
        assert (await bystander.round_trip())["ok"]
    finally:
        for ws in silent:
            ws.abort()
        await bystander.close()


async def test_a_flood_through_a_trusted_proxy_is_counted_per_forwarded_address(
    start_server: StartServer, attackers: list[Visitor]
) -> None:
    server = await start_server(
        settings=WebSettings(
            connect_burst=2,
            connect_rate_per_second=SLOW,
            trust_forwarded_for=True,
            trusted_proxies=("127.0.0.1/32",),
            rate_limit_max_keys=20,
        )
    )
    bystander = await Bystander.open(server.url)  # 127.0.0.2: not a proxy, its own address
    try:
        one_client = {"X-Forwarded-For": "203.0.113.7"}
        from_one = [await _attempt(server.url, attackers, one_client) for _ in range(4)]
        # Many forwarded addresses, one connect each: every one has a budget of its own.
        many = [
            _attempt(server.url, attackers, {"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(1, 41)
        ]
        attack = asyncio.ensure_future(asyncio.gather(*many))
        acknowledged = await bystander.chat_while(attack)
        from_many = attack.result()

        print(describe("bystander, during the forwarded flood", bystander.latencies))
        assert from_one[:2] == ["ok", "ok"]
        assert all(o.startswith("rate_limited") for o in from_one[2:])
        # A distributed flood is not what a per-address limit stops (SECURITY.md)...
        assert from_many == ["ok"] * 40
        # ...but what the limits remember of it stays within rate_limit_max_keys.
        remembered = server.app[LIMITS_KEY].remembered()
        assert remembered["connects"] <= 20
        assert remembered["new_visitors"] <= 20
        assert acknowledged == len(bystander.latencies) - 1  # the first is its connect
    finally:
        await bystander.close()


async def test_start_and_end_churn_is_limited_and_leaves_nothing_behind(
    start_server: StartServer,
) -> None:
    server = await start_server(
        settings=WebSettings(conversation_burst=40, conversation_rate_per_second=SLOW)
    )
    churner = Visitor(url=server.url)
    bystander = await Bystander.open(server.url)
    try:
        await churner.connect({"tenant": "default"})
        before = held(server.app)
        rss_before = settled_rss()

        async def churn() -> list[str]:
            outcomes: list[str] = []
            for n in range(30):  # 60 changes asked for; 40 allowed
                start = await churner.call(
                    "conversation.start", {"message": {"client_msg_id": f"c{n}", "text": "hi"}}
                )
                if not start["ok"]:
                    outcomes.append(start["error"]["code"])
                    continue
                conversation_id = start["conversation"]["id"]
                end = await churner.call("conversation.end", {"conversation_id": conversation_id})
                outcomes += ["ok", "ok" if end["ok"] else end["error"]["code"]]
            return outcomes

        attack = asyncio.ensure_future(churn())
        acknowledged = await bystander.chat_while(attack)
        outcomes = attack.result()

        print(describe("bystander, during start/end churn", bystander.latencies))
        assert outcomes[:40] == ["ok"] * 40
        assert set(outcomes[40:]) == {"rate_limited"}
        assert acknowledged == len(bystander.latencies) - 1
        # Twenty chats started and ended: the server holds what it held before (no
        # room per ended chat), while the churner is still connected.
        await until_held(server.app, before)
        assert settled_rss() - rss_before < RSS_BOUND
    finally:
        await churner.disconnect()
        await bystander.close()
