"""Large events out of band, over the real server on SQLite and PostgreSQL: with
``event_inline_max_bytes`` lowered to 2 KiB (and the text limit raised), a large agent
message reaches a real Socket.IO visitor as an ``event.ref``, live and in ``sync``;
``GET`` on its URL with the visitor's token returns the whole event (an identified
visitor's with its signed identity too); anybody else is refused as the socket refuses
them; small events are untouched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest

from business.clock import SystemClock
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, AgentId, TenantId
from business.validation import Limits
from data import Database
from presentation import WebSettings
from presentation.packet_json import encoded_size
from tests.harness import World, make_world
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.test_identity_socket import (
    SECRET as IDENTITY_SECRET,
    claims as identity_claims,
    configure,
)
from tests.visitor_client import Json, Visitor

OTHER = TenantId("other")
ALICE = AgentId("alice@agents.example")
LIMIT = 2048
SETTINGS = WebSettings(event_inline_max_bytes=LIMIT)
# 1,000 characters of two bytes in UTF-8 (six as the json module's \u00e9) and 3,000
# of one: over the limit whichever encoder writes the packets.
BIG = "é" * 1000 + "x" * 3000


@pytest.fixture
async def world(database: Database) -> World:
    """The presentation world, with room for messages larger than the limit."""
    return await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        queues=(DEFAULT_QUEUE,),
        tenants={OTHER: "Other shop"},
        limits=Limits(max_text_length=20_000),
    )


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server(settings=SETTINGS)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _visitor(server: Server, tenant: str = "default") -> Visitor:
    visitor = Visitor(url=server.url)
    await visitor.connect({"tenant": tenant})
    return visitor


async def _get(
    http: aiohttp.ClientSession,
    server: Server,
    path: str,
    *,
    token: str | None,
    tenant: str | None = "default",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if tenant is not None:
        sent["X-Chat-Tenant"] = tenant
    async with http.get(server.url + path, headers=sent) as response:
        body = json.loads(await response.text()) if await response.read() else None
        return response.status, body, response


async def _chat_with_big_answer(world: World, ann: Visitor) -> tuple[str, int]:
    """Ann's chat with Alice, who answered with ``BIG``; its conversation id and seq."""
    conversation_id = await ann.start("Can you send me the terms?")
    posted = await world.agent_says(await _alice(world), conversation_id, BIG)
    return conversation_id, posted.seq


async def _alice(world: World) -> AgentId:
    if await world.agents.get_agent(ALICE) is None:
        await ready_agent(world, ALICE, name="Alice")
    return ALICE


async def test_a_large_message_comes_live_as_a_reference_and_the_fetch_returns_it(
    server: Server, world: World, http: aiohttp.ClientSession
) -> None:
    ann = await _visitor(server)
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
        got = await ann.drain()
        await world.agent_says(await _alice(world), conversation_id, "Anything else?")
        got += await ann.drain()
    finally:
        await ann.disconnect()

    ref = next(event for event in got if event["seq"] == seq)
    assert set(ref) == {"conversation_id", "seq", "type", "created_at", "ref_type", "size", "url"}
    assert ref["type"] == "event.ref"
    assert ref["ref_type"] == "message"
    assert ref["url"] == f"/visitor-api/v1/conversations/{conversation_id}/events/{seq}"
    # The seqs stay gap-free: the reference stands where its event would.
    assert [event["seq"] for event in got] == list(range(1, seq + 2))
    small = [event for event in got if event["seq"] != seq]
    assert all(event["type"] != "event.ref" for event in small)
    assert small[-1]["text"] == "Anything else?"
    assert len(json.dumps(ref, separators=(",", ":"))) < 400

    status, event, response = await _get(http, server, ref["url"], token=ann.token)
    assert status == 200, event
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"].startswith("private")
    assert "Authorization" in response.headers["Vary"]
    assert event["text"] == BIG
    assert (event["type"], event["seq"], event["from"]) == (
        "message",
        seq,
        {"kind": "agent", "name": "Alice"},
    )
    assert event["created_at"] == ref["created_at"]
    assert ref["size"] == encoded_size(event)


async def test_sync_replies_carry_references_and_leave_small_events_alone(
    start_server: StartServer, world: World, http: aiohttp.ClientSession
) -> None:
    default = await start_server()  # the same store, the default 64 KiB limit
    lowered = await start_server(settings=SETTINGS)
    ann = await _visitor(lowered)
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
        payload = {"conversation_id": conversation_id, "after_seq": 0}
        synced = (await ann.ok("sync", payload))["events"]
    finally:
        await ann.disconnect()
    ann_again = Visitor(url=default.url)
    try:
        await ann_again.connect({"tenant": "default", "visitor_token": ann.token})
        inline = (await ann_again.ok("sync", payload))["events"]
    finally:
        await ann_again.disconnect()

    assert [event["seq"] for event in synced] == [event["seq"] for event in inline]
    for ours, theirs in zip(synced, inline, strict=True):
        if ours["seq"] == seq:
            assert ours["type"] == "event.ref"
            assert ours["size"] == encoded_size(theirs)
        else:
            assert ours == theirs  # small events exactly as without the feature
    assert theirs["type"] == "message"
    assert inline[seq - 1]["text"] == BIG
    ref = synced[seq - 1]
    status, fetched, _ = await _get(http, lowered, ref["url"], token=ann.token)
    assert (status, fetched) == (200, inline[seq - 1])


async def test_only_the_visitor_may_fetch_and_others_are_refused_as_the_socket_refuses(
    server: Server, world: World, http: aiohttp.ClientSession
) -> None:
    ann = await _visitor(server)
    bob = await _visitor(server)
    olga = await _visitor(server, OTHER)
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
        payload = {"conversation_id": conversation_id, "after_seq": 0}
        bob_sync = await bob.call("sync", payload)
        olga_sync = await olga.call("sync", payload)
    finally:
        for visitor in (ann, bob, olga):
            await visitor.disconnect()
    url = f"/visitor-api/v1/conversations/{conversation_id}/events/{seq}"

    def refused(body: Json, status: int, code: str) -> None:
        assert body["status"] == status
        assert body["code"] == code
        assert BIG[:50] not in json.dumps(body)

    # Another visitor of the tenant, and one of another tenant: forbidden, like sync.
    assert bob_sync["error"]["code"] == olga_sync["error"]["code"] == "forbidden"
    for token, tenant in ((bob.token, "default"), (olga.token, OTHER)):
        status, body, response = await _get(http, server, url, token=token, tenant=tenant)
        assert status == 403
        assert response.headers["Content-Type"] == "application/problem+json"
        refused(body, 403, "forbidden")
    # Ann's token under another tenant is nobody's; no token, a malformed one, or a
    # scheme other than Bearer are no credentials.
    attempts: list[tuple[str | None, str]] = [
        (ann.token, OTHER),
        (None, "default"),
        ("not a token", "default"),
    ]
    for credential, tenant in attempts:
        status, body, response = await _get(http, server, url, token=credential, tenant=tenant)
        refused(body, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    status, body, _ = await _get(
        http, server, url, token=None, headers={"Authorization": f"Basic {ann.token}"}
    )
    refused(body, 401, "unauthenticated")
    status, body, _ = await _get(http, server, url, token=ann.token, tenant=None)
    refused(body, 400, "invalid_input")
    assert "X-Chat-Tenant" in body["detail"]
    status, body, _ = await _get(http, server, url, token=ann.token, tenant="nowhere")
    refused(body, 404, "not_found")
    # Events the conversation does not have, and conversations that do not exist.
    base = f"/visitor-api/v1/conversations/{conversation_id}/events"
    for path in (f"{base}/0", f"{base}/{seq + 5}", f"{base}/x1", f"{base}/{'9' * 30}"):
        status, body, _ = await _get(http, server, path, token=ann.token)
        refused(body, 404, "not_found")
    status, body, _ = await _get(
        http, server, "/visitor-api/v1/conversations/nope/events/1", token=ann.token
    )
    refused(body, 404, "not_found")
    # Nothing the database could not hold reaches it.
    status, body, _ = await _get(
        http, server, "/visitor-api/v1/conversations/a%00b/events/1", token=ann.token
    )
    refused(body, 400, "invalid_input")
    # And Ann herself still may.
    status, body, _ = await _get(http, server, url, token=ann.token)
    assert (status, body["text"]) == (200, BIG)


async def test_browsers_may_fetch_only_from_the_sites_allowed_to_connect(
    start_server: StartServer, world: World, http: aiohttp.ClientSession
) -> None:
    server = await start_server(
        settings=WebSettings(
            event_inline_max_bytes=LIMIT, cors_allowed_origins=("https://shop.example",)
        )
    )
    ann = await _visitor(server)
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
    finally:
        await ann.disconnect()
    url = server.url + f"/visitor-api/v1/conversations/{conversation_id}/events/{seq}"
    preflight = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,x-chat-tenant",
    }

    async with http.options(url, headers={"Origin": "https://shop.example", **preflight}) as ok:
        assert ok.status == 204
        assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        allowed = ok.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed
        assert "x-chat-tenant" in allowed
        assert "x-chat-identity" in allowed
        assert ok.headers["Access-Control-Allow-Methods"] == "GET"
    async with http.options(url, headers={"Origin": "https://evil.example", **preflight}) as no:
        assert no.status == 403
        assert "Access-Control-Allow-Origin" not in no.headers

    status, body, response = await _get(
        http,
        server,
        url.removeprefix(server.url),
        token=ann.token,
        headers={"Origin": "https://shop.example"},
    )
    assert (status, body["text"]) == (200, BIG)
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    status, body, response = await _get(
        http,
        server,
        url.removeprefix(server.url),
        token=ann.token,
        headers={"Origin": "https://evil.example"},
    )
    assert (status, body["code"]) == (403, "forbidden")
    assert BIG[:50] not in json.dumps(body)
    assert "Access-Control-Allow-Origin" not in response.headers
    # The engine's own pages (the demo) are of its own origin.
    status, _, _ = await _get(
        http,
        server,
        url.removeprefix(server.url),
        token=ann.token,
        headers={"Origin": server.url},
    )
    assert status == 200


async def test_fetches_cost_the_client_address_like_connects(
    start_server: StartServer, world: World, http: aiohttp.ClientSession
) -> None:
    server = await start_server(
        settings=WebSettings(
            event_inline_max_bytes=LIMIT, connect_burst=3, connect_rate_per_second=0.01
        )
    )
    ann = await _visitor(server)  # one connect of the three
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
    finally:
        await ann.disconnect()
    url = f"/visitor-api/v1/conversations/{conversation_id}/events/{seq}"
    statuses = [(await _get(http, server, url, token=ann.token))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    status, body, response = await _get(http, server, url, token=ann.token)
    assert (status, body["code"]) == (429, "rate_limited")
    assert "Retry-After" in response.headers


async def test_an_identified_visitor_fetches_with_its_identity_and_its_token_alone_is_refused(
    server: Server, world: World, http: aiohttp.ClientSession
) -> None:
    await configure(world, IdentityMode.OPTIONAL)
    identity = jwt.encode(identity_claims(), IDENTITY_SECRET, algorithm="HS256")
    ann = Visitor(url=server.url)
    await ann.connect({"tenant": "default", "identity": identity})
    try:
        conversation_id, seq = await _chat_with_big_answer(world, ann)
    finally:
        await ann.disconnect()
    url = f"/visitor-api/v1/conversations/{conversation_id}/events/{seq}"
    status, body, _ = await _get(http, server, url, token=ann.token)
    assert (status, body["code"]) == (401, "unauthenticated")
    other = jwt.encode(identity_claims(sub="someone-else"), IDENTITY_SECRET, algorithm="HS256")
    for wrong in (other, "not.a.jwt"):
        status, body, _ = await _get(
            http, server, url, token=ann.token, headers={"X-Chat-Identity": wrong}
        )
        assert (status, body["code"]) == (401, "unauthenticated")
    status, body, response = await _get(
        http, server, url, token=ann.token, headers={"X-Chat-Identity": identity}
    )
    assert (status, body["text"]) == (200, BIG)
    assert "X-Chat-Identity" in response.headers["Vary"]
