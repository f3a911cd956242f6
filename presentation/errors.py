"""The one place where errors become Socket.IO error codes (PROTOCOL.md).

Handlers and the connect handler both go through ``error_body`` so a given failure is
reported the same way everywhere, and unexpected ones are logged with a traceback exactly
once, here at the edge.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Final

import socketio

from business.errors import (
    EmailRequired,
    Forbidden,
    IdentityRejected,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QueueClosed,
    QueueFull,
    RateLimited,
    TooLarge,
    TranscriptLimit,
    Unavailable,
)
from business.threads import ThreadRefused
from presentation.drain import DRAINING, Draining

logger = logging.getLogger(__name__)

INVALID_INPUT: Final = "invalid_input"
NOT_FOUND: Final = "not_found"
FORBIDDEN: Final = "forbidden"
RATE_LIMITED: Final = "rate_limited"
TOO_LARGE: Final = "too_large"
UNAVAILABLE: Final = "unavailable"
QUEUE_FULL: Final = "queue_full"
QUEUE_CLOSED: Final = "queue_closed"
EMAIL_REQUIRED: Final = "email_required"
TRANSCRIPT_LIMIT: Final = "transcript_limit"
INTERNAL: Final = "internal"


def error_body(exc: BaseException, *, context: str) -> dict[str, str]:
    """``{"code", "message"}`` for ``exc``; ``context`` names what failed, for the log."""
    # TooLarge and EmailRequired are InvalidInput, so they must be matched first.
    if isinstance(exc, TooLarge):
        return _body(TOO_LARGE, exc)
    if isinstance(exc, EmailRequired):
        return _body(EMAIL_REQUIRED, exc)
    if isinstance(exc, InvalidInput):
        return _body(INVALID_INPUT, exc)
    if isinstance(exc, NotFound):
        return _body(NOT_FOUND, exc)
    if isinstance(exc, Forbidden):
        return _body(FORBIDDEN, exc)
    if isinstance(exc, ThreadRefused):
        return _body(exc.code, exc)  # not_allowed_in_messaging, thread_locked ...
    if isinstance(exc, InvalidTransition):
        # The protocol has no "conflict" code: the request was well formed, but the
        # conversation's state (usually: it has ended) makes it invalid. The message says
        # which state, so a client can tell this apart from a malformed payload.
        return {
            "code": INVALID_INPUT,
            "message": f"not allowed in the conversation's current state: {exc}",
        }
    if isinstance(exc, Draining):
        # Expected during every restart: not worth a warning per visitor.
        return {**_body(UNAVAILABLE, exc), "reason": DRAINING}
    if isinstance(exc, Unavailable):
        logger.warning("%s: unavailable: %s", context, exc)
        return _body(UNAVAILABLE, exc)
    if isinstance(exc, RateLimited):
        return _body(RATE_LIMITED, exc)
    if isinstance(exc, QueueFull):
        return _body(QUEUE_FULL, exc)
    if isinstance(exc, QueueClosed):
        return queue_closed_body(exc)
    if isinstance(exc, TranscriptLimit):
        return _body(TRANSCRIPT_LIMIT, exc)
    if isinstance(exc, IdentityRejected):
        body = _body(exc.code, exc)
        if exc.reason is not None:
            body["reason"] = exc.reason
        return body
    logger.error("%s failed", context, exc_info=exc)
    # Never the exception text: it may carry SQL, paths or other visitors' data.
    return {"code": INTERNAL, "message": "internal error; please retry later"}


def queue_closed_body(exc: QueueClosed) -> dict[str, str]:
    """``queue_closed`` with ``opens_at``, the next opening in UTC (ISO 8601, ``Z``), when
    there is one: a client can show it in the visitor's own time zone."""
    body = _body(QUEUE_CLOSED, exc)
    if exc.opens_at is not None:
        body["opens_at"] = opens_at_text(exc)
    return body


def opens_at_text(exc: QueueClosed) -> str:
    assert exc.opens_at is not None
    return exc.opens_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _body(code: str, exc: BaseException) -> dict[str, str]:
    return {"code": code, "message": str(exc) or code.replace("_", " ")}


def error_ack(exc: BaseException, *, context: str) -> dict[str, object]:
    return {"ok": False, "error": error_body(exc, context=context)}


class ConnectRefused(socketio.exceptions.ConnectionRefusedError):  # type: ignore[misc]
    """A refused connect whose ``connect_error`` carries ``{"code", "message"}``.

    The base class turns a single argument into ``{"message": str(arg)}``, which would
    stringify the dict. The JavaScript client exposes the packet's ``message`` as
    ``err.message`` and its ``data`` as ``err.data``, so both are set.
    """

    def __init__(self, body: dict[str, str]) -> None:
        super().__init__(body["message"])
        self.error_args = {"message": body["message"], "data": dict(body)}
