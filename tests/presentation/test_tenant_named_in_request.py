"""No REST request chooses its tenant: every endpoint a tenant's key may call, with
another tenant named in the query or the body (``tenant_id``, ``tenant``), is refused
(400, naming the field), never obeyed and never quietly ignored; the other tenant's
things read back the same through its own key. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.harness import World
from tests.presentation.api.client import ApiClient, Reply
from tests.presentation.conftest import Server
from tests.presentation.tenant_requests import request_path
from tests.presentation.tenant_scene import B, make_mine, make_theirs, their_state


@pytest.fixture
async def api(server: Server) -> AsyncIterator[ApiClient]:
    async with aiohttp.ClientSession() as http:
        yield ApiClient(f"{server.url}/api/v1", http)


SMUGGLED = ("tenant_id", "tenant")
"""Names a request might try to choose its tenant by: the key alone chooses it."""


async def test_no_request_chooses_its_tenant(api: ApiClient, world: World, server: Server) -> None:
    """Every endpoint a tenant's key may call, with B's tenant named in the query and in
    the body: refused (400, naming the field), never obeyed, never ignored."""
    async with api.http.get(server.url + "/api/v1/openapi.json") as response:
        document = await response.json()
    theirs = await make_theirs(world, api)
    mine = await make_mine(world)
    before = await their_state(api, theirs)
    failures: list[str] = []
    tried = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "admin" not in operation["security"][0]["bearer"]:
                continue  # the operator's (platform scope): it names tenants by design
            where = f"{method.upper()} {path}"
            url = request_path(path, operation["tags"][0], mine)
            for name in SMUGGLED:
                tried += 1
                reply = await api.call(method.upper(), url, key=mine.admin, params={name: B})
                failures += _named(where, "query", name, reply)
                if "requestBody" in operation:
                    reply = await api.call(method.upper(), url, key=mine.admin, json={name: B})
                    failures += _named(where, "body", name, reply)
    assert tried > 100
    assert await their_state(api, theirs) == before
    assert failures == [], "\n".join(failures)


def _named(where: str, location: str, name: str, reply: Reply) -> list[str]:
    if reply.status != 400 or reply.body.get("code") != "invalid_input":
        return [f"{where}: {name} in the {location}: {reply.status} {reply.body}"]
    errors = reply.body.get("errors") or []
    if not any(e["location"] == location and e["field"] == name for e in errors):
        return [f"{where}: {name} in the {location} not named: {reply.body}"]
    return []
