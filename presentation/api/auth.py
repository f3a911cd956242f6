"""Which key a request presents: ``Authorization: Bearer <key>``, or ``X-API-Key``."""

from __future__ import annotations

from aiohttp import web

from business.errors import Unauthenticated
from business.model import ApiKey
from business.services import Services


def presented_key(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthenticated("use Authorization: Bearer <key> (or X-API-Key: <key>)")
        return credentials.strip() or None
    return request.headers.get("X-API-Key", "").strip() or None


async def authenticate(services: Services, request: web.Request) -> ApiKey:
    """The key of ``request``; ``Unauthenticated`` without one, or with one that is
    unknown or revoked."""
    return await services.api_keys.authenticate(presented_key(request))
