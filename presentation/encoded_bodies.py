"""Request bodies are taken as sent: a compressed one is refused, never inflated.

aiohttp inflates a request body with a ``Content-Encoding`` (gzip, deflate, br, zstd) as
it is read. Every reader here stops at its size limit, but aiohttp then reads and
discards the rest of an unread body for up to ten seconds, inflating it too: one
megabyte of gzip that inflates to a gigabyte cost two seconds of CPU after its 413 was
sent. No client of the engine compresses what it sends (browsers do not, nor do
Socket.IO's clients), so ``make_runner`` turns aiohttp's inflation off and this
middleware answers any such body with 415, before a handler reads a byte of it.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from presentation.api.problems import ApiError, problem_response
from presentation.errors import INVALID_INPUT

IDENTITY: Final = "identity"


@web.middleware
async def refuse_encoded_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    encoding = request.headers.get("Content-Encoding", IDENTITY).strip().lower()
    if encoding and encoding != IDENTITY and request.body_exists:
        error = ApiError(
            INVALID_INPUT,
            f"request bodies must not be compressed (Content-Encoding: {encoding[:40]}); "
            "send the body as it is",
            status=415,
        )
        response = problem_response(error, context=f"{request.method} {request.path}")
        # Keep-alive would make aiohttp read (and discard) the rest of the body first.
        response.force_close()
        return response
    return await handler(request)
