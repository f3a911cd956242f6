"""Pages of lists: ``limit`` and an opaque keyset ``cursor``.

A list is ordered by a key that never changes (a tenant's id, a queue's name, an
agent's address …); ``next_cursor`` encodes the key of the last item shown, and the
next page starts after it. Items added or removed meanwhile neither shift nor repeat
the others, as offsets would. The cursor is opaque to clients: URL-safe base64 of the
key, which may change between releases.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from presentation.api.problems import ApiError
from presentation.api.registry import Params
from presentation.errors import INVALID_INPUT

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_CURSOR = 600
"""Cursors are short (the keys are ids and names); the bound keeps a request line, even
percent-encoded, below aiohttp's limit of 8190 bytes."""

T = TypeVar("T")
Key = tuple[str, ...]


class PageQuery(Params):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="items per page")
    cursor: str | None = Field(
        None,
        min_length=1,
        max_length=_MAX_CURSOR,
        description="`next_cursor` of the previous page; leave out for the first",
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


def encode_cursor(key: Key) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> Key | None:
    """The key ``cursor`` encodes (None for the first page); ``invalid_input`` for
    anything this API did not hand out."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != size
        or not all(isinstance(part, str) for part in key)
    ):
        raise ApiError(INVALID_INPUT, "query: cursor is not one this API gave out")
    return tuple(key)


def page_of(
    items: Sequence[T], key: Callable[[T], Key], query: PageQuery, size: int
) -> tuple[list[T], str | None]:
    """One page of ``items`` (all of them, in any order): sorted by ``key``, after the
    cursor, ``query.limit`` at most; and the next cursor, if there is more."""
    after = decode_cursor(query.cursor, size)
    ordered = sorted(items, key=key)
    if after is not None:
        ordered = [item for item in ordered if key(item) > after]
    return fetched_page(ordered, key, query.limit)


def fetched_page(
    fetched: Sequence[T], key: Callable[[T], Key], limit: int
) -> tuple[list[T], str | None]:
    """A page from ``fetched``, which a store returned in key order after the cursor,
    asked for ``limit + 1`` (the one more says whether there is a next page)."""
    shown = list(fetched[:limit])
    more = len(fetched) > limit
    return shown, encode_cursor(key(shown[-1])) if more and shown else None
