"""What the widget's loader and chat manager read before a visitor engages, without any
credentials:

- ``GET /visitor-api/v1/widget-config?tenant=T``: the tenant's effective widget
  configuration (``business.widget_config.effective_document``: the default trigger
  included). Public and cacheable: ``Cache-Control: public, max-age=60`` and an
  ``ETag`` (a change reaches sites within a minute; a revalidation that finds it
  unchanged is a 304 with no body).
- ``GET /visitor-api/v1/availability?tenant=T&queue=Q``: ``{"probability": p}``, what a
  trigger marked "only if agents are available" draws against
  (``WidgetConfigService.availability``). Never cached by browsers.

The engine keeps both for a few seconds (``presentation.widget_read_cache``).

Both are simple GETs (no custom header), so browsers send no preflight; they answer CORS
for the origins the Socket.IO server accepts (``origin_policy``), and a page of any other
origin cannot read them. Each costs the client address one token of its widget read
budget (``widget_read_burst``), apart from the connect budget of its chats. Errors are
the REST API's problem documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from aiohttp import web

from business.errors import NotFound
from business.model import DEFAULT_QUEUE, TenantId
from business.services import Services
from business.validation import check_queue_name
from presentation.api.problems import problem_response
from presentation.limits import VisitorLimits
from presentation.public_http import TENANT_KEY, cors_headers
from presentation.settings import WebSettings
from presentation.socketio_server import origin_policy
from presentation.widget_read_cache import WidgetReadCache

CONFIG_ROUTE: Final = "/visitor-api/v1/widget-config"
AVAILABILITY_ROUTE: Final = "/visitor-api/v1/availability"
CONFIG_MAX_AGE: Final = 60
"""Seconds a browser or a CDN may reuse the configuration without asking again."""


class VisitorWidgetEndpoint:
    """The handlers of ``CONFIG_ROUTE`` and ``AVAILABILITY_ROUTE``."""

    def __init__(self, *, services: Services, settings: WebSettings, limits: VisitorLimits):
        self._cache = WidgetReadCache(
            services,
            config_ttl=settings.widget_config_cache_seconds,
            availability_ttl=settings.widget_availability_cache_seconds,
        )
        self._limits = limits
        self._origins = origin_policy(settings)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(CONFIG_ROUTE, self.config, allow_head=False)
        router.add_get(AVAILABILITY_ROUTE, self.availability, allow_head=False)

    async def config(self, request: web.Request) -> web.Response:
        try:
            await self._limits.widget_read(self._client_address(request))
            body, etag = await self._cache.config(_tenant(request))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return self._finish(request, problem_response(error, context=f"GET {request.path}"))
        headers = {
            "Cache-Control": f"public, max-age={CONFIG_MAX_AGE}",
            "ETag": etag,
            "Vary": "Origin",
        }
        if _none_match(request.headers.getall("If-None-Match", ()), etag):
            return self._finish(request, web.Response(status=304, headers=headers))
        response = web.Response(body=body, content_type="application/json", headers=headers)
        return self._finish(request, response)

    async def availability(self, request: web.Request) -> web.Response:
        try:
            await self._limits.widget_read(self._client_address(request))
            queue = check_queue_name(request.query.get("queue", DEFAULT_QUEUE))
            probability = await self._cache.availability(_tenant(request), queue)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return self._finish(request, problem_response(error, context=f"GET {request.path}"))
        response = web.json_response(
            {"probability": probability}, headers={"Cache-Control": "no-store"}
        )
        return self._finish(request, response)

    def _finish(self, request: web.Request, response: web.Response) -> web.Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Vary", "Origin")
        # A refused origin still gets the answer, without the header: its page cannot
        # read it.
        response.headers.update(cors_headers(self._origins, request) or {})
        return response

    def _client_address(self, request: web.Request) -> str:
        return self._limits.address(request.remote, request.headers.getall("X-Forwarded-For", ()))


def _none_match(headers: Sequence[str], etag: str) -> bool:
    """Whether ``If-None-Match`` (RFC 9110 13.1.2: ``*`` or a list of entity tags, weak
    ones compared weakly) names ``etag``: then the answer is 304."""
    for header in headers:
        for tag in header.split(","):
            tag = tag.strip()
            if tag == "*" or tag.removeprefix("W/") == etag:
                return True
    return False


def _tenant(request: web.Request) -> TenantId:
    tenant = request.query.get("tenant", "")
    if not TENANT_KEY.fullmatch(tenant):
        # Not a tenant's key at all: the same answer as for one that is unknown.
        raise NotFound("unknown tenant")
    return TenantId(tenant)
