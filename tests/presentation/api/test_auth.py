"""Keys at the edge: none, unknown, malformed or revoked is 401; a scope that does not
allow the endpoint is 403."""

from __future__ import annotations

import pytest

from business import commands as c
from business.model import DEFAULT_TENANT, ApiKeyId
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def test_without_a_key_the_api_answers_401_with_a_bearer_challenge(api: ApiClient) -> None:
    reply = await api.get("/queues", None)
    assert "API key is required" in reply.problem(401, "unauthenticated")
    assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "presented",
    [
        "nonsense",
        "ce_0123456789abcdef_" + "A" * 43,  # well-formed, nobody has it
        "ce_0123456789abcdef_" + "A" * 42,
        "x" * 1000,
    ],
)
async def test_an_unknown_or_malformed_key_is_401(
    api: ApiClient, keys: Keys, presented: str
) -> None:
    reply = await api.get("/queues", presented)
    assert reply.problem(401, "unauthenticated") == "unknown API key"


async def test_the_right_id_with_a_wrong_secret_is_401(api: ApiClient, keys: Keys) -> None:
    forged = keys.admin[:-43] + ("B" if keys.admin[-43] != "B" else "C") + keys.admin[-42:]
    assert forged != keys.admin
    # Once before the real key was used (nothing remembered), once after (remembered).
    assert (await api.get("/queues", forged)).status == 401
    assert (await api.get("/queues", keys.admin)).status == 200
    assert (await api.get("/queues", forged)).status == 401


async def test_another_scheme_than_bearer_is_401(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues", None, headers={"Authorization": f"Basic {keys.admin}"})
    assert "Bearer" in reply.problem(401, "unauthenticated")


async def test_the_key_may_come_in_x_api_key(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues", None, headers={"X-API-Key": keys.read})
    assert reply.status == 200
    assert [q["name"] for q in reply.body["items"]] == ["support"]


async def test_a_revoked_key_is_refused_at_once(api: ApiClient, keys: Keys, world: World) -> None:
    assert (await api.get("/queues", keys.read)).status == 200  # remembered as good now
    key_id = ApiKeyId(keys.read.split("_")[1])
    await world.services.api_keys.revoke(c.RevokeApiKey(key_id=key_id))
    reply = await api.get("/queues", keys.read)
    assert reply.problem(401, "unauthenticated") == "this API key was revoked"


async def test_a_key_revoked_through_the_api_is_refused_at_once(api: ApiClient, keys: Keys) -> None:
    created = await api.post("/api-keys", keys.admin, {"scope": "read"})
    assert created.status == 201
    assert (await api.get("/queues", created.body["key"])).status == 200
    assert (await api.delete(f"/api-keys/{created.body['id']}", keys.admin)).status == 204
    assert (await api.get("/queues", created.body["key"])).status == 401


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("POST", "/queues", {"name": "sales"}, "read"),
        ("PATCH", "/queues/support", {"offer_timeout": 30}, "read"),
        ("POST", "/agents", {"address": "a@b.example", "max_chats": 1, "queues": ["x"]}, "read"),
        ("DELETE", "/canned-responses/hello", None, "read"),
        ("GET", "/api-keys", None, "read"),
        ("GET", "/queues", None, "bot"),
        ("GET", "/agents", None, "bot"),
        ("GET", "/canned-responses", None, "bot"),
        ("GET", "/queues", None, "platform"),
        ("GET", "/api-keys", None, "platform"),
        ("GET", "/tenants", None, "admin"),
        ("POST", "/tenants", {"name": "Evil"}, "admin"),
        ("GET", "/tenants/default/api-keys", None, "admin"),
    ],
)
async def test_a_scope_that_does_not_allow_the_endpoint_is_403(
    api: ApiClient,
    keys: Keys,
    world: World,
    method: str,
    path: str,
    body: object,
    scope: str,
) -> None:
    key = {"read": keys.read, "bot": keys.bot, "platform": keys.platform, "admin": keys.admin}
    kwargs = {} if body is None else {"json": body}
    reply = await api.call(method, path, key=key[scope], **kwargs)  # type: ignore[arg-type]
    assert f"this key's is {scope}" in reply.problem(403, "forbidden")
    # Nothing was done.
    assert [q.name for q in await world.services.tenants.list_queues(DEFAULT_TENANT)] == ["support"]
    assert [t.id for t in await world.services.tenants.list_tenants()] == ["default", "other"]


async def test_last_use_is_recorded(api: ApiClient, keys: Keys, world: World) -> None:
    key_id = ApiKeyId(keys.read.split("_")[1])
    assert (await world.services.api_keys.get(key_id)).last_used_at is None
    assert (await api.get("/queues", keys.read)).status == 200
    assert (await world.services.api_keys.get(key_id)).last_used_at is not None
