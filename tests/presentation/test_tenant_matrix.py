"""Tenant by endpoint, for what visitors can reach: every Socket.IO event of the visitor
namespace and every HTTP route of the app, as the running server registers them, on
SQLite and PostgreSQL.

Tenant A ("other") has a visitor with a chat its agent answered, a file in it and an
open socket; a visitor of tenant B ("default") has a chat and a file of their own, and
aims each event and route at A's things with B's token (under either tenant's name) and
B's file signature. Nothing of A's shows in any answer, and a read-back shows A's chat
and file as they were.

A new event or route without a case here fails ``test_every_event_and_route_has_a_case``;
one no case can cover says why in ``EXPLAINED``. The REST API's endpoints are the
registry's, and ``tests/presentation/api/test_isolation.py`` holds their matrix (with
the same rule for new endpoints).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from business.clock import SystemClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE, AgentId, ConversationId, QueueName, TenantId
from data import Database
from presentation.api.registry import all_routes
from presentation.api.resources import RESOURCES
from presentation.app import SIO_KEY
from tests.harness import World, make_world
from tests.presentation.conftest import Server, StartServer
from tests.visitor_client import NAMESPACE, Json, Visitor

A = TenantId("other")
OLGA = AgentId("olga@other.example")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SECRETS = ("4711", "Olga", "card ends", "Other shop", "a-secret.png")
"""What only tenant A's visitor and agent wrote."""


@dataclass(kw_only=True)
class Scene:
    server: Server
    world: World
    http: aiohttp.ClientSession
    bea: Visitor
    """Tenant A's visitor."""
    conversation_id: str
    file_url: str
    """A's file, signed for Bea."""
    mal: Visitor
    """Tenant B's visitor, the attacker."""
    mal_conversation_id: str
    mal_file_url: str

    def attempts(self) -> list[tuple[str, Json]]:
        cid = self.conversation_id
        return [
            ("message.send", {"conversation_id": cid, "client_msg_id": "m-1", "text": "x"}),
            ("typing", {"conversation_id": cid, "state": "composing"}),
            ("read", {"conversation_id": cid, "seq": 1}),
            ("sync", {"conversation_id": cid, "after_seq": 0}),
            ("conversation.end", {"conversation_id": cid}),
            ("transcript.request", {"conversation_id": cid, "email": "mal@example.org"}),
        ]


async def _upload(
    http: aiohttp.ClientSession, url: str, token: str, tenant: str, cid: str
) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("conversation_id", cid)
    form.add_field("file", PNG, filename="a-secret.png", content_type="image/png")
    headers = {"Authorization": f"Bearer {token}", "X-Chat-Tenant": tenant}
    async with http.post(url + "/visitor-api/v1/files", data=form, headers=headers) as r:
        return r.status, await r.text()


@pytest.fixture
async def scene(database: Database, start_server: StartServer) -> AsyncIterator[Scene]:
    # Mail is configured (never sent: no dispatcher runs), so transcript requests are
    # judged on whose chat it is, not refused as unavailable.
    mail = MailSettings(host="127.0.0.1", port=9, tls="none", from_address="no@chat.example")
    world = await make_world(
        uow=database.unit_of_work, clock=SystemClock(), queues=(DEFAULT_QUEUE,), mail=mail
    )
    server = await start_server(world=world)
    visitors: list[Visitor] = []

    def new_visitor() -> Visitor:
        visitors.append(Visitor(url=server.url))
        return visitors[-1]

    await world.tenants.ensure_tenant(A, name="Other shop", queues=(QueueName("billing"),))
    await world.agent(OLGA, name="Olga", tenant_id=A, queues=(QueueName("billing"),), max_chats=5)
    async with aiohttp.ClientSession() as http:
        bea = new_visitor()
        await bea.connect({"tenant": A})
        cid = await bea.start("My secret order 4711", queue="billing")
        await world.agent_says(OLGA, cid, "Olga here: your card ends in 1234")
        status, body = await _upload(http, server.url, bea.token, A, cid)
        assert status == 201, body
        file = json.loads(body)
        await bea.ok(
            "message.send",
            {
                "conversation_id": cid,
                "client_msg_id": "f-1",
                "text": "",
                "attachments": [file["id"]],
            },
        )
        mal = new_visitor()
        await mal.connect({"tenant": "default"})
        mal_cid = await mal.start("Hello")
        status, body = await _upload(http, server.url, mal.token, "default", mal_cid)
        assert status == 201, body
        yield Scene(
            server=server,
            world=world,
            http=http,
            bea=bea,
            conversation_id=cid,
            file_url=file["url"],
            mal=mal,
            mal_conversation_id=mal_cid,
            mal_file_url=json.loads(body)["url"],
        )
    for visitor in visitors:
        await visitor.disconnect()


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


async def _state(scene: Scene) -> Any:
    """A's chat and file, read back by A's own visitor."""
    synced = await scene.bea.ok("sync", {"conversation_id": scene.conversation_id, "after_seq": 0})
    conversation = await scene.world.conversations.get_conversation(
        ConversationId(scene.conversation_id)
    )
    async with scene.http.get(scene.server.url + scene.file_url) as response:
        file = (response.status, await response.read())
    # Each sync signs the file afresh (a new expiry): compare the links without it.
    events = re.sub(r"\?exp=\d+&sig=[\w-]+", "", json.dumps(synced["events"]))
    return (
        events,
        conversation.state,
        conversation.visitor_read_seq,
        dict(conversation.context.custom),
        conversation.context.page_title,
        file,
    )


# -- the Socket.IO events --------------------------------------------------------------


async def _refused_on_their_chat(scene: Scene, event: str) -> None:
    for name, payload in scene.attempts():
        if name == event:
            ack = await scene.mal.call(event, payload)
            assert ack["ok"] is False, (event, ack)
            assert ack["error"]["code"] == "forbidden", (event, ack)
            assert _leaks(str(ack)) == [], event


async def _start(scene: Scene, event: str) -> None:
    # Their queue is nobody's here; a start stays in the visitor's own tenant.
    ack = await scene.mal.call(event, {"queue": "billing"})
    assert ack["ok"] is False
    assert ack["error"]["code"] == "not_found"


async def _context(scene: Scene, event: str) -> None:
    await scene.mal.ok(event, {"page_title": "Mal's page", "custom": {"plan": "stolen"}})


async def _identify(scene: Scene, event: str) -> None:
    # It names only the caller and their own open chats: Mal's one, never A's.
    ack = await scene.mal.ok(
        event, {"name": "Mal", "email": "mal@example.org", "extra": {"plan": "stolen"}}
    )
    assert ack["conversations"] == 1
    assert _leaks(str(ack)) == []


async def _offline(scene: Scene, event: str) -> None:
    ack = await scene.mal.call(
        event,
        {
            "client_msg_id": "o-1",
            "name": "Mal",
            "email": "mal@example.org",
            "text": "hi",
            "queue": "billing",
        },
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "not_found"


async def _threads(scene: Scene, event: str) -> None:
    ack = await scene.mal.ok(event, {})
    assert scene.conversation_id not in str(ack)
    assert _leaks(str(ack)) == []


async def _connect(scene: Scene, event: str) -> None:
    # Mal's token under A's name is a stranger there: a new visitor with nothing.
    impostor = Visitor(url=scene.server.url)
    try:
        session = await impostor.connect({"tenant": A, "visitor_token": scene.mal.token})
        assert session["visitor_id"] != scene.bea.session["visitor_id"]
        assert session["conversations"] == []
        for name, payload in scene.attempts():
            ack = await impostor.call(name, payload)
            assert ack["ok"] is False, name
            assert _leaks(str(ack)) == [], name
        assert [e for e in await impostor.drain() if _leaks(str(e))] == []
    finally:
        await impostor.disconnect()


EVENT_CASES: dict[str, Callable[[Scene, str], Awaitable[None]]] = {
    "connect": _connect,
    "conversation.start": _start,
    "message.send": _refused_on_their_chat,
    "typing": _refused_on_their_chat,
    "read": _refused_on_their_chat,
    "sync": _refused_on_their_chat,
    "context.update": _context,
    "conversation.end": _refused_on_their_chat,
    "transcript.request": _refused_on_their_chat,
    "offline.leave": _offline,
    "threads.list": _threads,
    "visitor.identify": _identify,
}


# -- the HTTP routes ---------------------------------------------------------------------


async def _event_by_http(scene: Scene, route: str) -> None:
    base = f"{scene.server.url}/visitor-api/v1/conversations/{scene.conversation_id}/events"
    for tenant in ("default", A):
        for seq in (1, 2, 3):
            url = f"{base}/{seq}"
            headers = {"Authorization": f"Bearer {scene.mal.token}", "X-Chat-Tenant": tenant}
            async with scene.http.get(url, headers=headers) as response:
                text = await response.text()
                assert response.status in (401, 403, 404), (tenant, seq, response.status, text)
                assert _leaks(text) == [], (tenant, seq)


async def _upload_to_them(scene: Scene, route: str) -> None:
    for tenant in ("default", A):
        status, text = await _upload(
            scene.http, scene.server.url, scene.mal.token, tenant, scene.conversation_id
        )
        assert status in (401, 403, 404), (tenant, status, text)
        assert _leaks(text.replace("a-secret.png", "")) == []


async def _download_theirs(scene: Scene, route: str) -> None:
    their_path, _, _ = scene.file_url.partition("?")
    _, _, my_signature = scene.mal_file_url.partition("?")
    for path in (their_path, their_path.rsplit("/", 1)[0]):
        for query in (my_signature, "", "exp=9999999999&sig=" + "A" * 43):
            async with scene.http.get(f"{scene.server.url}{path}?{query}") as response:
                assert response.status == 403, (path, query, response.status)
                assert PNG not in await response.read()


async def _threads_by_http(scene: Scene, route: str) -> None:
    for tenant in ("default", A):
        headers = {"Authorization": f"Bearer {scene.mal.token}", "X-Chat-Tenant": tenant}
        async with scene.http.get(
            scene.server.url + "/visitor-api/v1/threads", headers=headers
        ) as response:
            text = await response.text()
            assert scene.conversation_id not in text, tenant
            assert _leaks(text) == [], tenant


HTTP_CASES: dict[str, Callable[[Scene, str], Awaitable[None]]] = {
    "GET /visitor-api/v1/conversations/{conversation_id}/events/{seq}": _event_by_http,
    "POST /visitor-api/v1/files": _upload_to_them,
    "GET /files/{file_id}": _download_theirs,
    "GET /files/{file_id}/{name}": _download_theirs,
    "GET /visitor-api/v1/threads": _threads_by_http,
}

STATIC = "the same page or asset for every tenant: no tenant's data"
PREFLIGHT = "a CORS preflight: answers headers only, reads and writes nothing"
EXPLAINED: dict[str, str] = {
    "disconnect": "no payload: it only forgets the caller's own socket",
    "*": "unknown events: answered with an error, nothing read or written",
    "GET /socket.io/": "the Socket.IO transport: its events are the event cases above",
    "POST /socket.io/": "the Socket.IO transport (long polling): the event cases above",
    "OPTIONS /socket.io/": PREFLIGHT,
    "GET /healthz": "process health: no tenant's data",
    "GET /livez": "process liveness: no tenant's data",
    "GET /readyz": "process readiness: no tenant's data",
    "GET /metrics": "the operator's: counts per tenant, no content (keep it off the "
    "public internet, SECURITY.md)",
    "GET /demo": STATIC,
    "GET /demo/checkout": STATIC,
    "GET /demo/embedded": STATIC,
    "GET /widget/{name}": STATIC,
    "GET /api/v1/openapi.json": STATIC,
    "GET /api/v1/docs": STATIC,
    "GET /api/v1/docs/init.js": STATIC,
    "GET /api/v1/docs/{name}": STATIC,
    "OPTIONS /visitor-api/v1/files": PREFLIGHT,
    "OPTIONS /visitor-api/v1/conversations/{conversation_id}/events/{seq}": PREFLIGHT,
    "OPTIONS /visitor-api/v1/threads": PREFLIGHT,
    "OPTIONS /api/v1/analytics/events": PREFLIGHT,
    "GET /visitor-api/v1/widget-config": "public by design: what every page of the "
    "tenant's site shows before any chat, no visitor's data",
    "GET /visitor-api/v1/availability": "public by design: a number per queue, no visitor's data",
    "POST /api/v1/analytics/events": "anonymous counters by design (trigger and page "
    "figures): anyone can add to any tenant's, reads nothing; only the origin check "
    "and the rate limit stand in the way (SECURITY.md, not defended)",
}
REST = {f"{r.method} /api/v1{r.path}" for r in all_routes(RESOURCES)}
"""Covered by tests/presentation/api/test_isolation.py."""


def _routes(app: web.Application) -> Iterator[str]:
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from _routes(resource._app)
            continue
        for route in resource:
            # aiohttp adds HEAD to each GET: the same handler.
            if route.method != "HEAD":
                yield f"{route.method} {resource.canonical}"


def _events(server: Server) -> list[str]:
    return list(server.app[SIO_KEY].handlers[NAMESPACE])


async def test_every_event_and_route_has_a_case(scene: Scene) -> None:
    events = _events(scene.server)
    routes = [r for r in _routes(scene.server.app) if r not in REST]
    assert "message.send" in events  # it sees them
    assert "GET /files/{file_id}" in routes
    uncovered = [
        name for name in events + routes if name not in EVENT_CASES | HTTP_CASES | EXPLAINED
    ]
    assert uncovered == [], f"add a tenant case (or a reason in EXPLAINED) for {uncovered}"
    stale = [name for name in EVENT_CASES | HTTP_CASES | EXPLAINED if name not in events + routes]
    assert stale == [], f"no longer served: {stale}"


async def test_no_visitor_event_or_route_reaches_another_tenant(scene: Scene) -> None:
    before = await _state(scene)
    ran = []
    for event in _events(scene.server):
        if event in EVENT_CASES:
            await EVENT_CASES[event](scene, event)
            ran.append(event)
    for route in _routes(scene.server.app):
        if route in HTTP_CASES:
            await HTTP_CASES[route](scene, route)
            ran.append(route)
    assert sorted(ran) == sorted(EVENT_CASES | HTTP_CASES)
    # Nothing of A's reached B's visitor, and A's chat and file are as they were.
    assert [e for e in await scene.mal.drain() if _leaks(str(e))] == []
    assert await _state(scene) == before
    # And A's visitor got nothing of B's.
    assert [e for e in await scene.bea.drain() if "Mal" in str(e) or "stolen" in str(e)] == []
