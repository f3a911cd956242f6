"""The widget's analytics reports: ``POST /api/v1/analytics/events?tenant=T``.

Public, like the widget's reads (``presentation.visitor_widget_api``): it runs on
visitors' pages, so it takes no API key, and it is not in the REST API's registry or
OpenAPI document, whose every endpoint needs one. It sits under the API's prefix (the
address the issue gave the analytics) and is answered through its problems middleware.

- Body: ``{"events": [{"kind": "page_view"}, {"kind": "impression", "trigger": "ID"},
  {"kind": "engagement", "trigger": "ID"}]}``, at most ``MAX_BODY`` bytes and
  ``business.analytics.MAX_BATCH`` events; checked by ``business.analytics.parse_batch``.
  Read as JSON whatever its ``Content-Type``: the widget sends ``text/plain`` so that a
  browser sends it (``fetch`` with ``keepalive``, or ``navigator.sendBeacon``) without a
  CORS preflight; a client that sends ``application/json`` gets its preflight answered.
- Answer: ``200 {"counted": n, "ignored": m}`` (``ignored``: triggers the tenant's
  configuration does not have), or a problem: 400 bad body, 403 origin refused or
  analytics turned off, 404 unknown tenant, 413 too large, 429 over the budget.
- Each request costs the client address one token of its widget read budget
  (``VisitorLimits.widget_read``): the reports of a page view are a page view's calls
  like the configuration read, and the widget sends about one per page.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final

from aiohttp import web

from business.analytics import parse_batch
from business.errors import Forbidden, InvalidInput, NotFound
from business.model import TenantId
from business.services import Services
from presentation.api.problems import ApiError, problem_response
from presentation.limits import VisitorLimits
from presentation.public_http import TENANT_KEY, cors_headers
from presentation.settings import WebSettings
from presentation.socketio_server import origin_policy

EVENTS_PATH: Final = "/analytics/events"
"""Below the API's prefix (``/api/v1``)."""
MAX_BODY: Final = 8192
_PREFLIGHT_MAX_AGE: Final = "7200"


class AnalyticsEventEndpoint:
    """The handlers of ``EVENTS_PATH`` (``POST`` and its CORS preflight)."""

    def __init__(self, *, services: Services, settings: WebSettings, limits: VisitorLimits):
        self._services = services
        self._limits = limits
        self._origins = origin_policy(settings)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """On the API application's router (paths below its prefix)."""
        router.add_post(EVENTS_PATH, self.post)
        router.add_route("OPTIONS", EVENTS_PATH, self.preflight)

    async def post(self, request: web.Request) -> web.Response:
        cors = cors_headers(self._origins, request)
        try:
            if cors is None:
                raise Forbidden("pages of this site may not use the chat (cors_allowed_origins)")
            address = self._limits.address(
                request.remote, request.headers.getall("X-Forwarded-For", ())
            )
            await self._limits.widget_read(address)
            tenant = _tenant(request)
            events = parse_batch(await _json(request))
            recorded = await self._services.analytics.record(tenant, events)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            response = problem_response(error, context=f"POST {request.path}")
        else:
            response = web.json_response({"counted": recorded.counted, "ignored": recorded.ignored})
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Vary"] = "Origin"
        response.headers.update(cors or {})
        return response

    async def preflight(self, request: web.Request) -> web.Response:
        cors = cors_headers(self._origins, request)
        if cors is None:
            return web.Response(status=403, headers={"Vary": "Origin"})
        return web.Response(
            status=204,
            headers={
                **cors,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": "Content-Type",
                "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            },
        )


async def _json(request: web.Request) -> object:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _too_large()
    body = bytearray()
    async for chunk in request.content.iter_chunked(4096):
        body += chunk
        if len(body) > MAX_BODY:
            raise _too_large()
    try:
        parsed: object = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body: not JSON") from None
    return parsed


def _too_large() -> ApiError:
    return ApiError("too_large", f"the request body is larger than {MAX_BODY} bytes")


def _tenant(request: web.Request) -> TenantId:
    tenant = request.query.get("tenant", "")
    if not TENANT_KEY.fullmatch(tenant):
        raise NotFound("unknown tenant")
    return TenantId(tenant)
