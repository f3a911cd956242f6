"""Responses in other media types than JSON, and other success statuses than a route's.

Most endpoints answer one JSON model with one status. A few need more, declared on the
route so that the OpenAPI document lists it:

- another representation of the same resource (a report as CSV, a transcript as plain
  text), chosen by the request's ``Accept`` header among the route's ``media``; the
  handler learns the choice from ``Call.media`` and returns a ``Media``, whose body may
  be an async iterable of chunks, streamed as it is produced;
- another status with the same body (``Answer``): 200 instead of 201 when a create was
  a retry of one that had succeeded.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel

JSON: Final = "application/json"

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(Generic[R]):
    """The route's model with another of its statuses (``Route.also``)."""

    body: R
    status: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """A response in one of the route's other media types (``Route.media``)."""

    content_type: str
    """With its parameters, e.g. ``text/csv; charset=utf-8``."""
    body: bytes | AsyncIterable[bytes]
    """All of it, or chunks streamed as they come: once the first is sent the status is
    too, so whatever can fail with a problem (a bad cursor, the database) should fail
    before the handler returns."""

    @property
    def media_type(self) -> str:
        return base_type(self.content_type)


class ResponseBrokenError(Exception):
    """A streamed response failed after its status was sent: the connection is dropped
    so the client sees a truncated body rather than a complete-looking one."""


def base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def negotiate(accept: str | None, offered: Sequence[str]) -> str:
    """Which of ``offered`` (the default first) the ``Accept`` header prefers: the one
    with the highest quality, the earlier one on a tie. Without a header, or when it
    accepts none of them, the default (answering something is more useful than a 406)."""
    if not accept or len(offered) == 1:
        return offered[0]
    ranges = [_range(part) for part in accept.split(",") if part.strip()]
    best, best_quality = offered[0], 0.0
    for candidate in offered:
        quality = _quality(candidate, ranges)
        if quality > best_quality:
            best, best_quality = candidate, quality
    return best


def _range(part: str) -> tuple[str, float]:
    media, *parameters = (piece.strip() for piece in part.split(";"))
    quality = 1.0
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
            if not math.isfinite(quality):
                quality = 0.0
    return media.lower(), min(max(quality, 0.0), 1.0)


def _quality(media: str, ranges: Sequence[tuple[str, float]]) -> float:
    """The quality the most specific matching range gives ``media`` (RFC 9110, 12.5.1)."""
    kind = media.split("/", 1)[0]
    found: tuple[int, float] = (-1, 0.0)
    for pattern, quality in ranges:
        if pattern == media:
            specificity = 2
        elif pattern == f"{kind}/*":
            specificity = 1
        elif pattern == "*/*":
            specificity = 0
        else:
            continue
        if specificity > found[0]:
            found = (specificity, quality)
    return found[1]


async def write_media(request: web.Request, status: int, media: Media) -> web.StreamResponse:
    """``media`` as the response: at once if it is bytes, else chunk by chunk."""
    headers = {"Content-Type": media.content_type}
    if isinstance(media.body, bytes):
        return web.Response(status=status, body=media.body, headers=headers)
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    try:
        async for chunk in media.body:
            try:
                await response.write(chunk)
            except ConnectionError:
                # The client left: nobody to tell; aiohttp finishes quietly.
                return response
    except Exception as error:
        # The status is sent: no problem can follow. aiohttp logs this (with the cause)
        # and drops the connection, so the client sees a broken body, not a short one.
        what = f"{request.method} {request.path}: the response broke off"
        raise ResponseBrokenError(what) from error
    await response.write_eof()
    return response
