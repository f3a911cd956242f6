"""Errors of the REST API as RFC 9457 problem details (``application/problem+json``).

The one place where an error becomes an HTTP status. ``code`` is the visitor protocol's
code for the same failure (``presentation.errors``), plus ``unauthenticated`` and
``conflict``, which only the REST API has. ``type`` is ``about:blank``: the status says
what kind of problem it is, ``code`` says it precisely, and ``title`` is the status's
phrase, as RFC 9457 asks of ``about:blank`` problems. Unexpected errors are logged with a
traceback here, once, and answered without their text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Final

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from business.errors import (
    AlreadyExists,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    QueueClosed,
    QueueFull,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
)
from presentation import errors as codes

logger = logging.getLogger(__name__)

PROBLEM_JSON: Final = "application/problem+json"
UNAUTHENTICATED: Final = "unauthenticated"
CONFLICT: Final = "conflict"

STATUS_OF_CODE: Final[Mapping[str, int]] = {
    codes.INVALID_INPUT: 400,
    UNAUTHENTICATED: 401,
    codes.FORBIDDEN: 403,
    codes.NOT_FOUND: 404,
    CONFLICT: 409,
    codes.QUEUE_FULL: 409,
    codes.QUEUE_CLOSED: 409,
    codes.TOO_LARGE: 413,
    codes.RATE_LIMITED: 429,
    codes.INTERNAL: 500,
    codes.UNAVAILABLE: 503,
}
"""Every code the API answers with and its status (the integrator guide has this table)."""


class FieldError(BaseModel):
    """One thing wrong with the request."""

    location: str = Field(description="`path`, `query`, `header` or `body`")
    field: str = Field(description="dotted path of the field, empty for the whole part")
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(default="about:blank", description="always `about:blank`: see `code`")
    title: str = Field(description="the HTTP status phrase")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong, for people")
    code: str = Field(
        description="for programs: invalid_input, unauthenticated, forbidden, not_found, "
        "conflict, queue_full, queue_closed, too_large, rate_limited, internal or "
        "unavailable (treat a code you do not know like `internal`)"
    )
    opens_at: str | None = Field(
        None,
        description="for `queue_closed`: when the queue opens next (ISO 8601, UTC); left "
        "out when it has no opening ahead",
    )
    errors: list[FieldError] | None = Field(
        None, description="for `invalid_input` on a malformed request: each field at fault"
    )


class ApiError(Exception):
    """An error the edge itself decides (a malformed request, a missing content type)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status: int | None = None,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        opens_at: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.status = status or STATUS_OF_CODE[code]
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.opens_at = opens_at


def invalid(location: str, error: ValidationError) -> ApiError:
    """A pydantic validation error of one part of the request as ``invalid_input``."""
    found = [
        FieldError(
            location=location,
            field=".".join(str(part) for part in item["loc"]),
            message=item["msg"],
        )
        for item in error.errors(include_url=False, include_input=False)
    ]
    first = found[0] if found else None
    where = f"{location}" if first is None or not first.field else f"{location} {first.field}"
    detail = f"{where}: {first.message}" if first else f"the {location} is invalid"
    if len(found) > 1:
        detail += f" (and {len(found) - 1} more)"
    return ApiError(codes.INVALID_INPUT, detail, errors=found)


def problem_response(error: BaseException, *, context: str) -> web.Response:
    """The response for ``error``; ``context`` names the request, for the log."""
    problem = to_api_error(error, context=context)
    body = Problem(
        title=HTTPStatus(problem.status).phrase,
        status=problem.status,
        detail=problem.detail,
        code=problem.code,
        errors=problem.errors or None,
        opens_at=problem.opens_at,
    )
    return web.Response(
        status=problem.status,
        body=body.model_dump_json(exclude_none=True),
        content_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def to_api_error(error: BaseException, *, context: str) -> ApiError:
    # Subclasses before their bases: TooLarge and AlreadyExists are InvalidInputs.
    match error:
        case ApiError():
            return error
        case Unauthenticated():
            return ApiError(UNAUTHENTICATED, str(error), headers={"WWW-Authenticate": "Bearer"})
        case TooLarge():
            return ApiError(codes.TOO_LARGE, str(error))
        case AlreadyExists():
            return ApiError(CONFLICT, str(error))
        case InvalidInput():
            return ApiError(codes.INVALID_INPUT, str(error))
        case NotFound():
            return ApiError(codes.NOT_FOUND, str(error))
        case Forbidden():
            return ApiError(codes.FORBIDDEN, str(error))
        case InvalidTransition():
            return ApiError(CONFLICT, f"not allowed in the current state: {error}")
        case QueueFull():
            return ApiError(codes.QUEUE_FULL, str(error))
        case QueueClosed():
            opens_at = None if error.opens_at is None else codes.opens_at_text(error)
            return ApiError(codes.QUEUE_CLOSED, str(error), opens_at=opens_at)
        case RateLimited():
            return ApiError(codes.RATE_LIMITED, str(error), headers={"Retry-After": "1"})
        case Unavailable():
            logger.warning("%s: unavailable: %s", context, error)
            return ApiError(codes.UNAVAILABLE, str(error), headers={"Retry-After": "1"})
        case web.HTTPException():
            return _from_http(error)
    logger.error("%s failed", context, exc_info=error)
    # Never the exception's text: it may carry SQL, paths or another tenant's data.
    return ApiError(codes.INTERNAL, "internal error; please retry later")


def _from_http(error: web.HTTPException) -> ApiError:
    """aiohttp's own refusals: no route, a method the route lacks, a body too big."""
    status = error.status
    if status == 404:
        return ApiError(codes.NOT_FOUND, "no such endpoint (see /api/v1/openapi.json)")
    if status == 405:
        return ApiError(
            codes.INVALID_INPUT,
            "this endpoint does not take this method",
            status=405,
            headers={"Allow": error.headers.get("Allow", "")},
        )
    if status == 413:
        return ApiError(codes.TOO_LARGE, "the request body is too large")
    if 400 <= status < 500:
        return ApiError(codes.INVALID_INPUT, error.reason, status=status)
    return ApiError(codes.INTERNAL, "internal error; please retry later", status=500)
