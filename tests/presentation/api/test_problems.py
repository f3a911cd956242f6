"""Every failure is an RFC 9457 problem: malformed requests at the edge (bad JSON, wrong
types, unknown fields), aiohttp's own refusals, domain errors and unexpected ones."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from business.errors import InvalidTransition, QueueFull, RateLimited, Unavailable
from business.model import DEFAULT_TENANT
from presentation.api import build_api
from presentation.api.registry import ADMINS, Body, Call, Empty, Resource
from presentation.api.resources import RESOURCES
from presentation.settings import WebSettings
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import StartServer


async def test_an_unknown_endpoint_is_a_404_problem(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/nothing-here", keys.admin)
    assert "no such endpoint" in reply.problem(404, "not_found")


async def test_a_method_the_endpoint_lacks_is_a_405_problem(api: ApiClient, keys: Keys) -> None:
    reply = await api.call("PUT", "/queues", key=keys.admin, json={})
    reply.problem(405, "invalid_input")
    assert "GET" in reply.headers["Allow"]


async def test_a_body_that_is_not_json_is_400(api: ApiClient, keys: Keys) -> None:
    reply = await api.call(
        "POST",
        "/queues",
        key=keys.admin,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert "Invalid JSON" in reply.problem(400, "invalid_input")
    assert reply.body["errors"][0]["location"] == "body"


async def test_a_body_that_is_no_json_type_is_415(api: ApiClient, keys: Keys) -> None:
    reply = await api.call(
        "POST", "/queues", key=keys.admin, data=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert "application/json" in reply.problem(415, "invalid_input")


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": 5}, "name", "valid string"),
        ({"name": "sales", "offer_timeout": "30"}, "offer_timeout", "valid integer"),
        ({"name": "sales", "offer_timeout": 30.5}, "offer_timeout", "valid integer"),
        ({"name": "sales", "require_wrap_up": "yes"}, "require_wrap_up", "valid boolean"),
        ({"name": "sales", "colour": "red"}, "colour", "Extra inputs"),
        ({"name": "Sales!"}, "name", "pattern"),
        ({"name": "sales", "offer_timeout": 0}, "offer_timeout", "greater than or equal"),
        ({"name": "sales", "skills": {"french": 11}}, "skills.french", "less than or equal"),
        ({}, "name", "Field required"),
        ([], "", "an object"),
    ],
)
async def test_wrong_types_unknown_fields_and_bad_values_are_400_naming_the_field(
    api: ApiClient, keys: Keys, world: World, body: object, field: str, words: str
) -> None:
    reply = await api.post("/queues", keys.admin, body)
    reply.problem(400, "invalid_input")
    (error,) = reply.body["errors"]
    assert error["location"] == "body"
    assert error["field"] == field
    assert words in error["message"]
    assert reply.body["detail"].startswith("body")
    # Validation happens before anything is touched.
    assert [q.name for q in await world.services.tenants.list_queues(DEFAULT_TENANT)] == ["support"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"colour": "red"}, "colour"),
        ({"cursor": ""}, "cursor"),
    ],
)
async def test_bad_query_parameters_are_400(
    api: ApiClient, keys: Keys, params: dict[str, str], field: str
) -> None:
    reply = await api.get("/queues", keys.read, params=params)
    reply.problem(400, "invalid_input")
    assert reply.body["errors"][0] == {
        "location": "query",
        "field": field,
        "message": reply.body["errors"][0]["message"],
    }


async def test_a_cursor_this_api_did_not_give_is_400(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues", keys.read, params={"cursor": "bm90IG1pbmU"})
    assert "cursor" in reply.problem(400, "invalid_input")


async def test_a_query_parameter_given_twice_is_400(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues", keys.read, params=[("limit", "1"), ("limit", "2")])
    assert "more than once" in reply.problem(400, "invalid_input")


async def test_a_bad_path_parameter_is_400(api: ApiClient, keys: Keys) -> None:
    reply = await api.get("/queues/Not%20A%20Queue", keys.read)
    reply.problem(400, "invalid_input")
    assert reply.body["errors"][0]["location"] == "path"


async def test_a_body_over_the_limit_is_413(start_server: StartServer, keys: Keys) -> None:
    server = await start_server(settings=WebSettings(api_max_body_bytes=2048))
    async with aiohttp.ClientSession() as http:
        api = ApiClient(f"{server.url}/api/v1", http)
        big = {"name": "sales", "title": "x" * 4000}
        reply = await api.post("/queues", keys.admin, big)
        assert "2048 bytes" in reply.problem(413, "too_large")

        # Without a Content-Length (chunked), the limit holds as well.
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "sales", "title": "'
            for _ in range(10):
                yield b"x" * 1000
            yield b'"}'

        async with http.post(
            f"{server.url}/api/v1/queues",
            data=chunks(),
            headers={"Authorization": f"Bearer {keys.admin}", "Content-Type": "application/json"},
        ) as response:
            assert response.status == 413


# -- errors of handlers: a resource of the test's own, which also shows that a new module
# only needs to declare its routes.

probe = Resource("probe", "Raises what it is told to.")


class Raise(Body):
    what: str


_ERRORS: dict[str, Exception] = {
    "transition": InvalidTransition("the conversation has ended"),
    "full": QueueFull("the queue is full"),
    "limited": RateLimited("slow down"),
    "down": Unavailable("the database is unavailable"),
    "bug": RuntimeError("SELECT secret FROM somewhere"),
}


@probe.route(
    "POST",
    "/probe",
    summary="Raise",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Raise,
    response=Empty,
)
async def raise_it(call: Call[Empty, Empty, Raise]) -> Empty:
    raise _ERRORS[call.body.what]


@probe.route(
    "GET",
    "/probe",
    summary="Answer with the wrong model",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Empty,
    response=Raise,
)
async def wrong_model(call: Call[Empty, Empty, Empty]) -> Raise:
    return Empty()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("transition", 409, "conflict"),
        ("full", 409, "queue_full"),
        ("limited", 429, "rate_limited"),
        ("down", 503, "unavailable"),
        ("bug", 500, "internal"),
    ],
)
async def test_domain_errors_map_to_their_status_and_code(
    world: World, keys: Keys, what: str, status: int, code: str
) -> None:
    app = web.Application()
    app.add_subapp(
        "/api/v1", build_api(services=world.services, max_body=65536, resources=(*RESOURCES, probe))
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as http:
            api = ApiClient(f"http://127.0.0.1:{port}/api/v1", http)
            reply = await api.post("/probe", keys.admin, {"what": what})
            detail = reply.problem(status, code)
            if code == "internal":
                assert "SELECT" not in detail
            if status in (429, 503):
                assert reply.headers["Retry-After"] == "1"
            wrong = await api.get("/probe", keys.admin)
            wrong.problem(500, "internal")
            document = await api.get("/openapi.json", None)
            assert "/probe" in document.body["paths"]
    finally:
        await runner.cleanup()
