"""What the public (keyless) HTTP reads of the widget share: the tenant key in a query
string and CORS answered by the Socket.IO server's origin policy
(``presentation.socketio_server.origin_policy``)."""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from presentation.socketio_server import OriginCheck

TENANT_KEY: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")
"""What may be a tenant's public key (``data-tenant``) in a query string: anything else
is answered as an unknown tenant without a look-up."""


def cors_headers(origins: str | OriginCheck, request: web.Request) -> dict[str, str] | None:
    """The CORS headers of the answer; None if the request's origin is refused. A
    request without ``Origin`` (same-origin, or not from a browser) needs none."""
    origin = request.headers.get("Origin")
    if origin is None:
        return {}
    if origins == "*":
        return {"Access-Control-Allow-Origin": "*"}
    if isinstance(origins, str) or not origins(origin, {"HTTP_HOST": request.host}):
        return None
    return {"Access-Control-Allow-Origin": origin}
