"""What the registry offers routes besides one JSON model and one status: other media
types chosen by ``Accept`` (streamed or not), other success statuses, and a body that
may be left out; and how a streamed response that breaks off reaches the client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from pydantic import BaseModel

from presentation.api import build_api
from presentation.api.media import Answer, Media, negotiate
from presentation.api.registry import ADMINS, Body, Call, Empty, Params, Resource
from presentation.api.resources import RESOURCES
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys

JSON, CSV, TEXT = "application/json", "text/csv", "text/plain"


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("text/csv", CSV),
        ("text/*", CSV),
        ("application/json, text/csv", JSON),  # a tie: the route's default
        ("text/csv, application/json;q=0.5", CSV),
        ("application/json;q=0.2, text/*;q=0.4", CSV),
        ("text/csv;q=0, */*", JSON),  # refused outright
        ("text/html", JSON),  # nothing acceptable: the default rather than a 406
        ("TEXT/CSV", CSV),
        ("text/csv;q=abc, application/json;q=0.1", JSON),
        ("text/csv;q=nan", JSON),
        ("text/plain", TEXT),
    ],
)
def test_accept_chooses_among_the_routes_media_types(accept: str | None, chosen: str) -> None:
    assert negotiate(accept, (JSON, CSV, TEXT)) == chosen


# -- a resource of the test's own ---------------------------------------------------

probe = Resource("probe", "Answers what it is told to.")


class Row(BaseModel):
    n: int


class Rows(Params):
    rows: int = 3
    fail_after: int | None = None


async def _rows(count: int, fail_after: int | None) -> AsyncIterator[bytes]:
    for n in range(count):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("the database went away")
        yield f"{n}\r\n".encode()


@probe.route(
    "GET",
    "/probe/rows",
    summary="Rows as JSON or CSV",
    scopes=ADMINS,
    params=Empty,
    query=Rows,
    body=Empty,
    response=Row,
    media=(CSV,),
)
async def rows(call: Call[Empty, Rows, Empty]) -> Row | Media:
    if call.media == CSV:
        return Media(
            content_type="text/csv; charset=utf-8",
            body=_rows(call.query.rows, call.query.fail_after),
        )
    return Row(n=call.query.rows)


class Made(Body):
    status: int = 201
    media: str | None = None


@probe.route(
    "POST",
    "/probe/made",
    summary="Created, or found",
    scopes=ADMINS,
    params=Empty,
    query=Empty,
    body=Made,
    response=Row,
    status=201,
    also=(200,),
)
async def made(call: Call[Empty, Empty, Made]) -> Row | Answer[Row] | Media:
    if call.body.media is not None:
        return Media(content_type=call.body.media, body=b"x")
    if call.body.status == 201:
        return Row(n=1)
    return Answer(body=Row(n=2), status=call.body.status)


@pytest.fixture
async def probe_api(world: World) -> AsyncIterator[ApiClient]:
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
            yield ApiClient(f"http://127.0.0.1:{port}/api/v1", http)
    finally:
        await runner.cleanup()


async def test_a_streamed_representation(probe_api: ApiClient, keys: Keys) -> None:
    auth = {"Authorization": f"Bearer {keys.admin}"}
    async with probe_api.http.get(
        f"{probe_api.base}/probe/rows", headers=auth | {"Accept": "text/csv"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert await response.text() == "0\r\n1\r\n2\r\n"
    as_json = await probe_api.get("/probe/rows", keys.admin)
    assert (as_json.status, as_json.body) == (200, {"n": 3})


async def test_a_stream_that_breaks_off_is_not_a_complete_response(
    probe_api: ApiClient, keys: Keys
) -> None:
    auth = {"Authorization": f"Bearer {keys.admin}", "Accept": "text/csv"}
    async with probe_api.http.get(
        f"{probe_api.base}/probe/rows", params={"rows": "5", "fail_after": "2"}, headers=auth
    ) as response:
        assert response.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()


async def test_another_declared_status_with_the_same_body(probe_api: ApiClient, keys: Keys) -> None:
    created = await probe_api.post("/probe/made", keys.admin, {})
    assert (created.status, created.body) == (201, {"n": 1})
    found = await probe_api.post("/probe/made", keys.admin, {"status": 200})
    assert (found.status, found.body) == (200, {"n": 2})
    document = (await probe_api.get("/openapi.json", None)).body
    responses = document["paths"]["/probe/made"]["post"]["responses"]
    assert responses["200"]["content"] == responses["201"]["content"]
    assert set(document["paths"]["/probe/rows"]["get"]["responses"]["200"]["content"]) == {
        JSON,
        CSV,
    }


async def test_what_a_route_did_not_declare_is_a_server_error(
    probe_api: ApiClient, keys: Keys
) -> None:
    reply = await probe_api.post("/probe/made", keys.admin, {"status": 202})
    reply.problem(500, "internal")
    reply = await probe_api.post("/probe/made", keys.admin, {"media": "text/html"})
    reply.problem(500, "internal")


async def test_a_body_of_optional_fields_may_be_left_out(probe_api: ApiClient, keys: Keys) -> None:
    reply = await probe_api.call("POST", "/probe/made", key=keys.admin)
    assert (reply.status, reply.body) == (201, {"n": 1})
    document = (await probe_api.get("/openapi.json", None)).body
    assert document["paths"]["/probe/made"]["post"]["requestBody"]["required"] is False
    assert document["paths"]["/queues"]["post"]["requestBody"]["required"] is True
