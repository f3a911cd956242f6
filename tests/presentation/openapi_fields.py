"""The fields of the REST API's OpenAPI document that name something, and its
operations: what the tenant matrices of ``test_tenant_matrix_bodies`` are built from."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from presentation.api.media import JSON

Json = dict[str, Any]

ID_LIKE = re.compile(
    r"(^|_)(id|ids|kid|address|queue|queues|supervises|attachments|cursor|tenant|agent|"
    r"visitor|conversation|webhook|delivery|file|files|key|bot|canned|item|thread)$"
)
"""A field's own name (its last part) that names something; and every body's top-level
``name``, which names the thing it creates."""


def id_fields(document: Json) -> Iterator[tuple[str, str]]:
    """(operation id, field) for each field that names something: ``query.agent_id``,
    ``body.triggers[].queue``."""
    schemas = document["components"]["schemas"]
    for operations in document["paths"].values():
        for operation in operations.values():
            op = operation["operationId"]
            for parameter in operation["parameters"]:
                if parameter["in"] == "query" and ID_LIKE.search(parameter["name"]):
                    yield op, f"query.{parameter['name']}"
            body = operation.get("requestBody")
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                for field in _body_fields(schema, "body", schemas, frozenset()):
                    leaf = field.rsplit(".", 1)[-1].removesuffix("[]")
                    if ID_LIKE.search(leaf) or field == "body.name":
                        yield op, field


def _body_fields(schema: Json, at: str, schemas: Json, seen: frozenset[str]) -> Iterator[str]:
    """Each property below ``schema`` as ``at.name``, with ``[]`` after a list's."""
    for inner, names in _alternatives(schema, schemas, seen):
        if isinstance(inner.get("items"), dict):
            yield from _body_fields(inner["items"], at, schemas, names)
        for name, field in inner.get("properties", {}).items():
            is_list = any("items" in option for option, _ in _alternatives(field, schemas, names))
            path = f"{at}.{name}" + ("[]" if is_list else "")
            yield path
            yield from _body_fields(field, path, schemas, names)


def _alternatives(
    schema: Json, schemas: Json, seen: frozenset[str]
) -> Iterator[tuple[Json, frozenset[str]]]:
    """``schema`` and what its references and ``anyOf``/``oneOf``/``allOf`` lead to
    (each model once on a path: the rich content refers to itself)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _alternatives(schemas[name], schemas, seen | {name})
        return
    yield schema, seen
    for option in [*schema.get("anyOf", ()), *schema.get("oneOf", ()), *schema.get("allOf", ())]:
        yield from _alternatives(option, schemas, seen)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    tag: str
    media: tuple[str, ...]
    """What its success may be: JSON, and any other the document lists (CSV, text)."""


def operations(document: Json) -> dict[str, Operation]:
    """Each operation of the document by its id."""
    return {
        operation["operationId"]: Operation(
            method.upper(),
            path,
            operation["tags"][0],
            tuple(
                dict.fromkeys(
                    media
                    for status, response in operation["responses"].items()
                    if status.startswith("2")
                    for media in response.get("content", {JSON: None})
                )
            ),
        )
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
