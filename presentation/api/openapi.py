"""The OpenAPI 3.1 document, written from the route declarations.

pydantic emits JSON Schema 2020-12, which is the schema dialect of OpenAPI 3.1, so the
models' schemas go into ``components.schemas`` unchanged. Request bodies are described
as pydantic validates them, responses as it serialises them.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final, cast

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from presentation.api.media import JSON
from presentation.api.problems import PROBLEM_JSON, STATUS_OF_CODE, Problem
from presentation.api.registry import Empty, Resource, Route, all_routes

Json = dict[str, Any]

PREFIX: Final = "/api/v1"
_REF = "#/components/schemas/{model}"
_SECURITY_SCHEMES: Final[Json] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer ce_<id>_<secret>`",
    },
    "apiKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "the same key in `X-API-Key`, for clients that cannot set `Authorization`",
    },
}
_PROBLEM_STATUSES: Final = {
    400: "the request is malformed: see `errors`",
    401: "no key, or a key nobody has or that was revoked",
    403: "the key's scope does not allow this",
    404: "not found (or not this key's tenant's)",
    409: "it conflicts with what exists",
}
DESCRIPTION: Final = (
    """\
The chat engine's REST API for integrators.

**Keys.** Every endpoint needs an API key: `Authorization: Bearer ce_<id>_<secret>` (or
the header `X-API-Key`). A tenant's key has the scope `admin` (everything in its
tenant), `read` (GET only) or `bot`; a `platform` key belongs to the operator and
manages tenants. A tenant's key only ever sees its own tenant: the tenant comes from
the key, never from the URL or the body.

**Errors** are `application/problem+json` (RFC 9457) with a `code`: """
    + ", ".join(f"`{code}` ({status})" for code, status in STATUS_OF_CODE.items())
    + """.

**Lists** come in pages: `limit` (1-200, default 50) and `cursor` (the previous page's
`next_cursor`).
"""
)


def build_document(resources: Sequence[Resource], *, version: str) -> Json:
    routes = all_routes(resources)
    refs, components = _schemas(routes)
    paths: Json = {}
    for route in routes:
        operation = _operation(route, refs, components)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for route in routes:
        # The parameter models' own schemas were only needed to read their fields.
        for model in (route.params, route.query):
            components.pop(_name(model, refs, "validation"), None)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Chat engine API",
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": PREFIX}],
        "tags": _tags(resources),
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": _SECURITY_SCHEMES},
    }


def _tags(resources: Sequence[Resource]) -> list[Json]:
    """Each tag once, described by the first resource that has it."""
    tags: dict[str, Json] = {}
    for resource in resources:
        tags.setdefault(resource.tag, {"name": resource.tag, "description": resource.description})
    return list(tags.values())


_Refs = dict[tuple[type[BaseModel], JsonSchemaMode], Json]


def _schemas(routes: Sequence[Route]) -> tuple[_Refs, Json]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for route in routes:
        for model in (route.params, route.query):
            if model is not Empty:
                wanted[(model, "validation")] = None
        if route.has_body:
            wanted[(route.body, "validation")] = None
        if route.has_content:
            wanted[(route.response, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=_REF)
    return cast(_Refs, dict(refs)), dict(top.get("$defs", {}))


def _name(model: type[BaseModel], refs: _Refs, mode: JsonSchemaMode) -> str:
    ref = refs.get((model, mode))
    return "" if ref is None else str(ref["$ref"]).rsplit("/", 1)[-1]


def _operation(route: Route, refs: _Refs, components: Json) -> Json:
    scopes = sorted(scope.value for scope in route.scopes)
    operation: Json = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "security": [{"bearer": scopes}, {"apiKeyHeader": scopes}],
        "parameters": [
            *_parameters(route.params, "path", refs, components),
            *_parameters(route.query, "query", refs, components),
        ],
        "responses": _responses(route, refs),
    }
    if route.description:
        operation["description"] = route.description + f"\n\nScopes: {', '.join(scopes)}."
    else:
        operation["description"] = f"Scopes: {', '.join(scopes)}."
    if route.has_body:
        operation["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    return operation


def _parameters(model: type[BaseModel], where: str, refs: _Refs, components: Json) -> list[Json]:
    if model is Empty:
        return []
    schema = components[_name(model, refs, "validation")]
    required = set(schema.get("required", ()))
    found = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(dict(prop))
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter: Json = {
            "name": name,
            "in": where,
            "required": where == "path" or name in required,
            "schema": prop,
        }
        if description:
            parameter["description"] = description
        found.append(parameter)
    return found


def _without_null(prop: Json) -> Json:
    """A parameter is absent or has a value: ``null`` is no value a URL can carry."""
    options = prop.get("anyOf")
    if not isinstance(options, list):
        return prop
    kept = [option for option in options if option != {"type": "null"}]
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    if rest.get("default", 0) is None:
        del rest["default"]
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _responses(route: Route, refs: _Refs) -> Json:
    content: Json = {}
    if route.has_content:
        content[JSON] = {"schema": refs[(route.response, "serialization")]}
        # Other representations are text of their own format (CSV, plain text).
        content |= {media: {"schema": {"type": "string"}} for media in route.media}
    problem = {PROBLEM_JSON: {"schema": refs[(Problem, "serialization")]}}
    statuses = {401, 403, *route.errors}
    if route.params is not Empty:
        statuses |= {400, 404}
    if route.query is not Empty or route.has_body:
        statuses.add(400)
    responses: Json = {}
    for success in sorted({route.status, *route.also}):
        responses[str(success)] = {"description": HTTPStatus(success).phrase} | (
            {"content": content} if content else {}
        )
    for status in sorted(statuses):
        description = _PROBLEM_STATUSES.get(status, HTTPStatus(status).phrase)
        responses[str(status)] = {"description": description, "content": problem}
    # Every other status (413, 429, 500, 503 …) is a problem too.
    responses["default"] = {"description": "an error", "content": problem}
    return responses
