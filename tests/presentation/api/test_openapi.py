"""``/api/v1/openapi.json`` and ``/api/v1/docs``: served without a key, written from the
same declarations that serve the API."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import aiohttp

from business.events import DESK_EVENT_TYPES, EVENT_TYPES
from presentation.api.event_models import InternalModel, VisibleModel
from presentation.api.registry import all_routes
from presentation.api.resources import RESOURCES
from tests.presentation.api.client import ApiClient
from tests.presentation.conftest import Server, StartServer


async def test_the_document_is_openapi_3_1_and_needs_no_key(api: ApiClient) -> None:
    reply = await api.get("/openapi.json", None)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    document = reply.body
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKeyHeader"}


async def test_every_endpoint_served_is_in_the_document_and_nothing_else(
    api: ApiClient, server: Server
) -> None:
    document = (await api.get("/openapi.json", None)).body
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    declared = {(route.method, route.path) for route in all_routes(RESOURCES)}
    assert documented == declared
    for route in all_routes(RESOURCES):
        operation = document["paths"][route.path][route.method.lower()]
        scopes = sorted(s.value for s in route.scopes)
        assert operation["security"] == [{"bearer": scopes}, {"apiKeyHeader": scopes}]
        assert str(route.status) in operation["responses"]
        assert "default" in operation["responses"]
        # Every reference resolves.
        for ref in _refs(operation):
            name = ref.rsplit("/", 1)[1]
            assert name in document["components"]["schemas"], ref


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_request_bodies_are_described_as_they_are_validated(api: ApiClient) -> None:
    schemas = (await api.get("/openapi.json", None)).body["components"]["schemas"]
    create = schemas["QueueCreate"]
    assert create["additionalProperties"] is False
    assert create["required"] == ["name"]
    assert create["properties"]["offer_timeout"]["minimum"] == 1
    patch = schemas["QueuePatch"]
    # Only the settings where null means "the default" take null.
    assert patch["properties"]["offer_timeout"]["type"] == "integer"
    assert {"type": "null"} in patch["properties"]["max_waiting"]["anyOf"]
    assert patch["minProperties"] == 1
    problem = schemas["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["properties"])


async def test_the_docs_page_is_served_from_the_engine(
    start_server: StartServer, api_docs_dist: Path
) -> None:
    server = await start_server(api_docs_dir=api_docs_dist)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/api/v1/docs") as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            html = await page.text()
            csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        # Nothing from elsewhere: every asset is this server's, by a relative URL.
        assert "http" not in html.replace('charset="utf-8"', "")
        for asset in ("docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/init.js"):
            assert f'"{asset}"' in html
            async with http.get(f"{server.url}/api/v1/{asset}") as response:
                assert response.status == 200, asset
                body = await response.read()
                assert len(body) > 0
        async with http.get(f"{server.url}/api/v1/docs/init.js") as init:
            assert 'url: "openapi.json"' in await init.text()
        async with http.get(f"{server.url}/api/v1/docs/LICENSE") as other:
            assert other.status == 404


async def test_without_the_build_the_docs_page_says_how_to_build_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(api_docs_dir=tmp_path)
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/api/v1/docs") as page:
        assert page.status == 200
        text = await page.text()
    assert "setup.sh" in text
    assert 'href="openapi.json"' in text


async def test_other_representations_and_statuses_are_in_the_document(api: ApiClient) -> None:
    document = (await api.get("/openapi.json", None)).body
    paths, schemas = document["paths"], document["components"]["schemas"]
    report = paths["/reports/conversations"]["get"]["responses"]["200"]["content"]
    assert set(report) == {"application/json", "text/csv"}
    transcript = paths["/conversations/{conversation_id}/transcript"]["get"]
    assert set(transcript["responses"]["200"]["content"]) == {"application/json", "text/plain"}
    post = paths["/conversations/{conversation_id}/messages"]["post"]
    assert {"200", "201"} <= set(post["responses"])
    assert post["requestBody"]["required"] is True
    assert paths["/conversations/{conversation_id}/end"]["post"]["requestBody"]["required"] is False
    # Exactly one target of a transfer, said in the schema too.
    transfer = schemas["TransferBody"]
    assert transfer["oneOf"] == [{"required": ["queue"]}, {"required": ["agent_address"]}]
    assert transfer["properties"]["queue"]["type"] == "string"  # left out, never null
    # The events' types are told apart by `type`.
    events = schemas["InternalEventPage"]["properties"]["items"]["items"]
    assert events["discriminator"]["propertyName"] == "type"
    mapping = events["discriminator"]["mapping"]
    assert {"message", "note.added", "offer.made", "hold.returned"} <= set(mapping)
    # A bot's message is "from" its sender, as in the visitor protocol.
    assert "from" in schemas["MessageEvent"]["properties"]
    params = {p["name"] for p in paths["/conversations"]["get"]["parameters"]}
    assert params == {
        "state",
        "queue",
        "agent_id",
        "visitor_id",
        "since",
        "until",
        "channel",
        "cursor",
        "limit",
    }
    # A provider's message: 201 stored, 200 a retry.
    handed_in = paths["/channels/api/messages"]["post"]
    assert {"200", "201", "404", "409"} <= set(handed_in["responses"])
    assert schemas["Channel"]["enum"] == ["web", "api"]


def test_every_stored_event_type_has_its_model() -> None:
    def types(union: object) -> set[str]:
        return {
            t for model in get_args(union) for t in get_args(model.model_fields["type"].annotation)
        }

    assert types(VisibleModel) == set(EVENT_TYPES)
    assert types(InternalModel) == set(EVENT_TYPES) | set(DESK_EVENT_TYPES)
