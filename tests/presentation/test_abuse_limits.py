"""Limits per client address and per visitor, over real connections on loopback."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import text

from business import commands as c
from business.clock import SystemClock
from business.model import DEFAULT_QUEUE, TenantId
from business.sessions import VisitorSession
from business.validation import Limits
from data import Database
from presentation import WebSettings
from presentation.app import NAMESPACE_KEY, SIO_KEY
from tests.harness import World, make_world
from tests.presentation.conftest import StartServer, VisitorFactory
from tests.presentation.raw_engineio import StalledPolling, connect_packet
from tests.visitor_client import Visitor

SLOW = 0.001
"""A refill rate so slow that nothing refills during a test."""


@pytest.fixture
async def visitors() -> AsyncIterator[list[Visitor]]:
    made: list[Visitor] = []
    yield made
    for v in made:
        await v.disconnect()


def _visitor(url: str, made: list[Visitor]) -> Visitor:
    v = Visitor(url=url)
    made.append(v)
    return v


# -- per visitor ------------------------------------------------------------------------


async def test_reconnecting_does_not_refill_the_event_budget(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(event_burst=3, event_rate_per_second=SLOW))
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    conversation_id = await first.start()
    typing = {"conversation_id": conversation_id, "state": "paused"}
    assert (await first.call("typing", typing))["ok"]
    await first.disconnect()

    again = _visitor(server.url, visitors)
    await again.connect({"tenant": "default", "visitor_token": first.token})
    assert (await again.call("typing", typing))["ok"]
    refused = await again.call("typing", typing)
    assert refused["ok"] is False
    assert refused["error"]["code"] == "rate_limited"
    assert "wait" in refused["error"]["message"]


async def test_the_tabs_of_one_visitor_share_one_event_budget(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(event_burst=4, event_rate_per_second=SLOW))
    tab_a = _visitor(server.url, visitors)
    await tab_a.connect({"tenant": "default"})
    tab_b = _visitor(server.url, visitors)
    await tab_b.connect({"tenant": "default", "visitor_token": tab_a.token})
    stranger = _visitor(server.url, visitors)
    await stranger.connect({"tenant": "default"})
    conversation_id = await tab_a.start()
    typing = {"conversation_id": conversation_id, "state": "paused"}

    oks = [(await tab.call("typing", typing))["ok"] for tab in (tab_b, tab_a, tab_b, tab_a)]

    assert oks == [True, True, True, False]
    # Someone else's budget is their own.
    assert (await stranger.call("context.update", {"page_title": "Home"}))["ok"]


async def test_starting_and_ending_conversations_is_rate_limited(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(
        settings=WebSettings(conversation_burst=3, conversation_rate_per_second=SLOW)
    )
    v = _visitor(server.url, visitors)
    await v.connect({"tenant": "default"})
    first = await v.start()
    await v.ok("conversation.end", {"conversation_id": first})
    second = await v.start()

    refused = await v.call("conversation.end", {"conversation_id": second})

    assert refused["ok"] is False
    assert refused["error"]["code"] == "rate_limited"
    # Other events still go through: only the churn is limited.
    assert (await v.call("typing", {"conversation_id": second, "state": "paused"}))["ok"]


# -- per client address -------------------------------------------------------------------


async def test_connections_per_address_are_rate_limited(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(connect_burst=2, connect_rate_per_second=SLOW))
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    await _visitor(server.url, visitors).connect({"tenant": "default"})

    # Even a returning visitor: it is the address that connects too often.
    refusal = await _visitor(server.url, visitors).refused(
        {"tenant": "default", "visitor_token": first.token}
    )

    assert refusal["data"]["code"] == "rate_limited"
    assert "reconnect" in refusal["data"]["message"]


async def test_new_visitors_per_address_are_rate_limited_returning_ones_are_not(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(
        settings=WebSettings(new_visitor_burst=2, new_visitor_rate_per_second=SLOW)
    )
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    await _visitor(server.url, visitors).connect({"tenant": "default"})

    anonymous = await _visitor(server.url, visitors).refused({"tenant": "default"})
    # A well-formed token the server does not know would make a new visitor too.
    unknown = await _visitor(server.url, visitors).refused(
        {"tenant": "default", "visitor_token": "u" * 43}
    )
    back = await _visitor(server.url, visitors).connect(
        {"tenant": "default", "visitor_token": first.token}
    )

    assert anonymous["data"]["code"] == unknown["data"]["code"] == "rate_limited"
    assert "visitor_token" in anonymous["data"]["message"]
    assert back["visitor_id"] == first.session["visitor_id"]


async def _visitor_rows(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM visitors")) or 0)


async def test_refused_connects_with_unknown_tokens_store_no_visitor(
    start_server: StartServer, database: Database, visitors: list[Visitor]
) -> None:
    server = await start_server(
        settings=WebSettings(new_visitor_burst=2, new_visitor_rate_per_second=SLOW)
    )
    rows_before = await _visitor_rows(database)
    accepted: list[Visitor] = []
    refusals = []
    for _ in range(10):
        v = _visitor(server.url, visitors)
        # Well-formed, random, known to nobody: each would make a new visitor.
        auth = {"tenant": "default", "visitor_token": secrets.token_urlsafe(32)}
        try:
            await v.connect(auth)
            accepted.append(v)
        except Exception:
            assert v.connect_error is not None
            refusals.append(v.connect_error["data"]["code"])

    assert len(accepted) == 2
    assert refusals == ["rate_limited"] * 8
    # Decided before anything was written: only the two accepted visitors are stored,
    # each with a new token of its own.
    assert await _visitor_rows(database) == rows_before + 2
    assert len({v.token for v in accepted}) == 2


# -- open sockets per visitor and per address ----------------------------------------------


async def test_a_visitor_holds_at_most_max_sockets_per_visitor_open(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(max_sockets_per_visitor=2))
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    same = {"tenant": "default", "visitor_token": first.token}
    second = _visitor(server.url, visitors)
    await second.connect(same)

    refusal = await _visitor(server.url, visitors).refused(same)
    # Another visitor from the same address is not affected.
    await _visitor(server.url, visitors).connect({"tenant": "default"})

    assert refusal["data"]["code"] == "rate_limited"
    assert "too many open connections" in refusal["data"]["message"]
    # Closing a tab gives its place back.
    await second.disconnect()
    await _until_sockets(server.app, 2)
    await _visitor(server.url, visitors).connect(same)


async def test_an_address_holds_at_most_max_sockets_per_address_open(
    start_server: StartServer, visitors: list[Visitor]
) -> None:
    server = await start_server(settings=WebSettings(max_sockets_per_address=3))
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    for _ in range(2):
        await _visitor(server.url, visitors).connect({"tenant": "default"})

    # Neither a new visitor nor a returning one gets a fourth.
    new = await _visitor(server.url, visitors).refused({"tenant": "default"})
    back = await _visitor(server.url, visitors).refused(
        {"tenant": "default", "visitor_token": first.token}
    )

    assert new["data"]["code"] == back["data"]["code"] == "rate_limited"
    assert "too many open connections from your network" in new["data"]["message"]
    # Refused connects held no place: one disconnect makes room for exactly one.
    await first.disconnect()
    await _until_sockets(server.app, 2)
    await _visitor(server.url, visitors).connect({"tenant": "default"})
    assert (await _visitor(server.url, visitors).refused({"tenant": "default"}))["data"][
        "code"
    ] == "rate_limited"


async def test_a_connection_that_closes_while_connecting_leaves_no_socket_behind(
    start_server: StartServer,
    world: World,
    visitors: list[Visitor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = await start_server(
        settings=WebSettings(max_sockets_per_visitor=1, max_sockets_per_address=1)
    )
    first = _visitor(server.url, visitors)
    await first.connect({"tenant": "default"})
    token = first.token
    await first.disconnect()
    await _until_sockets(server.app, 0)

    # The connect waits in the database while its client goes away.
    sessions = world.services.sessions
    opening, go_on = asyncio.Event(), asyncio.Event()
    open_session = sessions.open_session

    async def slow_open_session(cmd: c.OpenSession) -> VisitorSession:
        opening.set()
        await go_on.wait()
        return await open_session(cmd)

    monkeypatch.setattr(sessions, "open_session", slow_open_session)
    sio = server.app[SIO_KEY]
    polling = await StalledPolling.open(server.url)
    try:
        # The reply to this post comes once the connect has been handled.
        connecting = asyncio.create_task(
            polling.send(connect_packet({"tenant": "default", "visitor_token": token}))
        )
        await asyncio.wait_for(opening.wait(), 5)
        # The client says goodbye on a second request while the first still waits.
        assert await polling.send_raw("1") == 200
        assert all(s.closed for s in sio.eio.sockets.values())
        go_on.set()
        await asyncio.wait_for(connecting, 5)
    finally:
        go_on.set()
        await polling.close()

    # Neither this process's sockets nor python-socketio's rooms kept it, and its place
    # (one per visitor and per address here) is free again.
    assert server.app[NAMESPACE_KEY].socket_count == 0
    assert server.app[NAMESPACE_KEY].counted_sockets == 0
    assert not list(sio.manager.get_participants("/visitor", None))
    monkeypatch.undo()
    again = await _visitor(server.url, visitors).connect(
        {"tenant": "default", "visitor_token": token}
    )
    assert again["visitor_id"] == first.session["visitor_id"]


async def _until_sockets(app: web.Application, count: int) -> None:
    """Until the server's namespace holds ``count`` sockets (a disconnect is handled
    after the client returns)."""
    for _ in range(500):
        namespace = app[NAMESPACE_KEY]
        if namespace.socket_count == namespace.counted_sockets == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the server did not get to {count} sockets")


async def test_x_forwarded_for_is_ignored_unless_trusted(
    start_server: StartServer, visitors: list[Visitor], caplog: pytest.LogCaptureFixture
) -> None:
    limited = WebSettings(connect_burst=1, connect_rate_per_second=SLOW)
    untrusting = await start_server(settings=limited)
    with caplog.at_level(logging.WARNING, logger="presentation.limits"):
        await _visitor(untrusting.url, visitors).connect(
            {"tenant": "default"}, headers={"X-Forwarded-For": "203.0.113.1"}
        )
    # The operator hears why everyone behind their proxy shares one budget.
    assert "trust_forwarded_for is off" in caplog.text
    # A client cannot buy a fresh budget by claiming another address.
    spoofed = await _visitor(untrusting.url, visitors).refused(
        {"tenant": "default"}, headers={"X-Forwarded-For": "203.0.113.2"}
    )
    assert spoofed["data"]["code"] == "rate_limited"

    behind_proxy = await start_server(
        settings=WebSettings(
            connect_burst=1, connect_rate_per_second=SLOW, trust_forwarded_for=True
        )
    )
    for client in ("203.0.113.1", "203.0.113.2"):
        await _visitor(behind_proxy.url, visitors).connect(
            {"tenant": "default"}, headers={"X-Forwarded-For": f"198.51.100.9, {client}"}
        )
    again = await _visitor(behind_proxy.url, visitors).refused(
        {"tenant": "default"}, headers={"X-Forwarded-For": "203.0.113.2"}
    )
    assert again["data"]["code"] == "rate_limited"


# -- the queue length cap (business) at the edge --------------------------------------------


async def test_a_start_into_a_full_queue_is_queue_full_and_stores_nothing(
    start_server: StartServer, database: Database, new_visitor: VisitorFactory
) -> None:
    world: World = await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        limits=Limits(max_queue_waiting=1),
        queues=(DEFAULT_QUEUE,),
        tenants={TenantId("other"): "Other shop"},
    )
    server = await start_server(world=world)
    waiting = Visitor(url=server.url)
    late = Visitor(url=server.url)
    try:
        await waiting.connect({"tenant": "default"})
        await waiting.start("first in line")
        await late.connect({"tenant": "default"})
        published_before = len(world.published())

        ack = await late.call(
            "conversation.start", {"message": {"client_msg_id": "m-1", "text": "me too"}}
        )

        assert ack["ok"] is False
        assert ack["error"]["code"] == "queue_full"
        assert "try again" in ack["error"]["message"]
        assert len(world.published()) == published_before
        await late.disconnect()
        again = Visitor(url=server.url)
        try:
            session = await again.connect({"tenant": "default", "visitor_token": late.token})
            assert session["conversations"] == []
        finally:
            await again.disconnect()
    finally:
        await waiting.disconnect()
        await late.disconnect()
