"""The visitor's thread list over HTTP: ``GET /visitor-api/v1/threads``.

What the chat manager's messaging step asks on a page view, before any socket is open
(the widget's client uses ``threads.list`` once connected): the same answer, with the
credentials of a connect in headers, as ``presentation.visitor_api`` takes them
(``Authorization: Bearer <visitor_token>``, ``X-Chat-Tenant``), the same CORS policy and
the same cost (one token of the client address's connect budget). Never cached: unread
counts change.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from business.services import Services
from presentation.limits import VisitorLimits
from presentation.settings import WebSettings
from presentation.socketio_server import origin_policy
from presentation.visitor_api import (
    IDENTITY_HEADER,
    bearer,
    tenant_header,
    visitor_get,
    visitor_preflight,
)
from presentation.wire import thread_to_wire

THREADS_ROUTE: Final = "/visitor-api/v1/threads"


class VisitorThreadsEndpoint:
    def __init__(self, *, services: Services, settings: WebSettings, limits: VisitorLimits):
        self._services = services
        self._limits = limits
        self._origins = origin_policy(settings)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(THREADS_ROUTE, self.get, allow_head=False)
        router.add_route("OPTIONS", THREADS_ROUTE, self.preflight)

    async def get(self, request: web.Request) -> web.Response:
        return await visitor_get(self._origins, self._limits, request, self._read)

    async def _read(self, request: web.Request) -> web.Response:
        threads = await self._services.threads.threads_by_token(
            tenant_header(request),
            bearer(request),
            request.headers.get(IDENTITY_HEADER, "").strip() or None,
        )
        return web.json_response(
            {"threads": [thread_to_wire(thread) for thread in threads]},
            headers={"Cache-Control": "no-store"},
        )

    async def preflight(self, request: web.Request) -> web.Response:
        return visitor_preflight(self._origins, request, "GET")
