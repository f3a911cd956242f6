"""The visitor's HTTP reads: ``GET /visitor-api/v1/conversations/{id}/events/{seq}``.

What an ``event.ref`` points to (``presentation.event_refs``). A visitor endpoint, not
an integrator one: it is not in the REST API's registry and takes no API key, but the
credentials a Socket.IO connect presents, in headers rather than the URL (which ends up
in logs): ``Authorization: Bearer <visitor_token>`` and ``X-Chat-Tenant: <tenant>``,
and for an identified visitor ``X-Chat-Identity: <signed identity token>`` (its token
alone is not enough, as at a connect).
They are checked by the same business code as a connect's
(``business.visitor_events``). Errors are the REST API's problem documents
(``presentation.api.problems``) with the visitor protocol's codes.

Browsers call it from the sites that embed the widget, so it answers CORS for the
origins the Socket.IO server accepts (``presentation.socketio_server.origin_policy``);
a request from any other origin is refused. A read costs the client address one token
of the connect budget (``connect_burst``, ``connect_rate_per_second``): it checks a
token as a connect does, and is no more frequent than one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from aiohttp import web

from business.errors import Forbidden, InvalidInput, NotFound
from business.model import ConversationId, TenantId
from business.services import Services
from business.validation import check_storable
from business.visitor_events import ReadVisitorEvent
from presentation.api.problems import problem_response
from presentation.event_refs import EVENT_ROUTE
from presentation.limits import VisitorLimits
from presentation.public_http import cors_headers
from presentation.settings import WebSettings
from presentation.socketio_server import OriginCheck, origin_policy
from presentation.wire import event_to_wire

logger = logging.getLogger(__name__)

TENANT_HEADER: Final = "X-Chat-Tenant"
IDENTITY_HEADER: Final = "X-Chat-Identity"
_ALLOWED_HEADERS: Final = f"Authorization, {TENANT_HEADER}, {IDENTITY_HEADER}"
_MAX_TENANT_LENGTH: Final = 64
_MAX_ID_LENGTH: Final = 128
_SEQ = re.compile(r"[0-9]{1,16}")
_PREFLIGHT_MAX_AGE: Final = "7200"
"""Seconds a browser may reuse a preflight (Chromium's own cap)."""
_CACHE_CONTROL: Final = "private, max-age=86400"
"""An event never changes once stored (a correction is an event of its own); only the
visitor's browser may keep it, and ``Vary`` keeps one visitor's copy from another's."""


class VisitorEventEndpoint:
    """The handlers of ``EVENT_ROUTE`` (``GET`` and its CORS preflight)."""

    def __init__(self, *, services: Services, settings: WebSettings, limits: VisitorLimits):
        self._services = services
        self._limits = limits
        self._origins = origin_policy(settings)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(EVENT_ROUTE, self.get, allow_head=False)
        router.add_route("OPTIONS", EVENT_ROUTE, self.preflight)

    async def get(self, request: web.Request) -> web.Response:
        return await visitor_get(self._origins, self._limits, request, self._read)

    async def _read(self, request: web.Request) -> web.Response:
        event = await self._services.visitor_events.event(_query(request))
        return web.json_response(
            event_to_wire(event, self._services.files.links.for_visitor),
            headers={
                "Cache-Control": _CACHE_CONTROL,
                "Vary": f"Authorization, {TENANT_HEADER}, {IDENTITY_HEADER}, Origin",
            },
        )

    async def preflight(self, request: web.Request) -> web.Response:
        return visitor_preflight(self._origins, request, "GET")


async def visitor_get(
    origins: str | OriginCheck,
    limits: VisitorLimits,
    request: web.Request,
    read: Callable[[web.Request], Awaitable[web.Response]],
) -> web.Response:
    """A visitor's HTTP read: refused from a site not allowed to use the chat, one token
    of the client address's connect budget, then ``read``'s answer, or the problem
    document of what it raised; with the headers every visitor answer has."""
    cors = cors_headers(origins, request)
    try:
        if cors is None:
            raise Forbidden("pages of this site may not use the chat (cors_allowed_origins)")
        await limits.connection(
            limits.address(request.remote, request.headers.getall("X-Forwarded-For", ()))
        )
        response = await read(request)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        response = problem_response(error, context=f"GET {request.path}")
    return visitor_response(response, cors)


def _query(request: web.Request) -> ReadVisitorEvent:
    tenant = tenant_header(request)
    conversation_id = check_storable(request.match_info["conversation_id"], "conversation_id")
    if len(conversation_id) > _MAX_ID_LENGTH:
        raise NotFound("unknown conversation")
    text = request.match_info["seq"]
    return ReadVisitorEvent(
        tenant_id=tenant,
        visitor_token=bearer(request),
        identity=request.headers.get(IDENTITY_HEADER, "").strip() or None,
        conversation_id=ConversationId(conversation_id),
        # Not a number: no such event, as for a seq the conversation has not reached.
        seq=int(text) if _SEQ.fullmatch(text) else 0,
    )


def visitor_preflight(
    origins: str | OriginCheck, request: web.Request, method: str
) -> web.Response:
    """The CORS preflight of a visitor's HTTP call (``method`` only, from the sites
    allowed to use the chat, with the visitor's credential headers)."""
    cors = cors_headers(origins, request)
    if cors is None or request.headers.get("Access-Control-Request-Method") != method:
        forbidden = Forbidden(f"only {method}, and only from the sites allowed to use the chat")
        return problem_response(forbidden, context=f"OPTIONS {request.path}")
    return web.Response(
        status=204,
        headers={
            **cors,
            "Vary": "Origin",
            "Access-Control-Allow-Methods": method,
            "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
            "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
        },
    )


def visitor_response(response: web.Response, cors: Mapping[str, str] | None) -> web.Response:
    """A visitor HTTP answer's common headers: never sniffed, CORS where allowed."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Vary", "Origin")
    response.headers.update(cors or {})
    return response


def tenant_header(request: web.Request) -> TenantId:
    """The tenant the ``X-Chat-Tenant`` header names."""
    # Checked as the connect's auth and sync's payload are (presentation.payloads): a
    # NUL or a lone surrogate would otherwise reach the database.
    tenant = check_storable(request.headers.get(TENANT_HEADER, "").strip(), TENANT_HEADER)
    if not tenant or len(tenant) > _MAX_TENANT_LENGTH:
        raise InvalidInput(f"the {TENANT_HEADER} header must name the tenant (1 to 64 characters)")
    return TenantId(tenant)


def bearer(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without one (any other
    scheme included), which the use case refuses as unauthenticated."""
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None
