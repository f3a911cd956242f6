"""The REST API for integrators, under ``/api/v1``.

pydantic models are the one source of its schemas: the registry
(``presentation.api.registry``) validates requests and serialises responses through
them, and writes the OpenAPI 3.1 document from them (``presentation.api.openapi``).
Errors are RFC 9457 problems (``presentation.api.problems``); keys and scopes are
``business.api_keys``'s. The resources are ``presentation.api.resources``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from business.services import Services
from presentation.api.auth import authenticate
from presentation.api.docs import DOCS_DIST, docs_handlers, warn_if_not_built
from presentation.api.media import ResponseBrokenError
from presentation.api.new_messages import NEW_MESSAGES, NewMessages
from presentation.api.openapi import PREFIX, build_document
from presentation.api.problems import problem_response
from presentation.api.registry import Resource, all_routes, request_handler
from presentation.api.resources import RESOURCES

API_VERSION: Final = "1.0.0"

__all__ = ["API_VERSION", "PREFIX", "RESOURCES", "build_api"]


def _document(resources: Sequence[Resource]) -> bytes:
    return json.dumps(build_document(resources, version=API_VERSION)).encode()


@functools.cache
def _default_document() -> bytes:
    """The document of ``RESOURCES``, built once per process: it takes 0.3 s (pydantic's
    JSON schemas), which every app built (each engine start, each test's) would pay."""
    return _document(RESOURCES)


def build_api(
    *,
    services: Services,
    max_body: int,
    resources: Sequence[Resource] = RESOURCES,
    docs_dir: Path | None = None,
) -> web.Application:
    """The API as an aiohttp application to mount at ``PREFIX``."""
    api = web.Application(middlewares=[_problems])
    api[NEW_MESSAGES] = NewMessages()
    api.cleanup_ctx.append(functools.partial(_watch_messages, services))
    document = _default_document() if resources is RESOURCES else _document(resources)

    for route in all_routes(resources):
        api.router.add_route(
            route.method,
            route.path,
            request_handler(route, services, functools.partial(authenticate, services), max_body),
        )

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(
            body=document,
            content_type="application/json",
            headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
        )

    api.router.add_get("/openapi.json", openapi)
    docs = docs_dir or DOCS_DIST
    warn_if_not_built(docs)
    api.router.add_routes(docs_handlers(docs))
    return api


async def _watch_messages(services: Services, api: web.Application) -> AsyncIterator[None]:
    """While the API runs it learns which messages its calls store (``new_messages``)."""
    services.publisher.subscribe(api[NEW_MESSAGES])
    try:
        yield
    finally:
        services.publisher.unsubscribe(api[NEW_MESSAGES])


@web.middleware
async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under the prefix, aiohttp's own 404 and 405 included, as a problem."""
    try:
        return await handler(request)
    except (asyncio.CancelledError, ResponseBrokenError):
        # (A response broken off mid-stream has sent its status: no problem can follow.)
        raise
    except Exception as error:
        return problem_response(error, context=f"{request.method} {request.path}")
