"""The visit in visitor payloads (``business.visit``): the ``context``'s
``visit_count``, ``time_on_site`` and ``pages``, and ``conversation.start``'s
``trigger``. Strict like the rest of ``presentation.payloads``: a malformed value is
``InvalidInput`` naming the field; the sizes are the business's to check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from business.errors import InvalidInput
from business.validation import check_storable
from business.visit import MAX_PAGES, ChainStep, PageView, StartedBy

_STEPS: Final = ", ".join(step.value for step in ChainStep)


def _count(data: Mapping[str, object], key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what}{key} must be a whole number")
    return value


def _text(data: Mapping[str, object], key: str, what: str, *, required: bool) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"{what}{key} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what}{key} must be a string")
    check_storable(value, f"{what}{key}")
    return value


def _time(data: Mapping[str, object], key: str, what: str) -> datetime:
    text = _text(data, key, what, required=True)
    assert text is not None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if at.tzinfo is None:
            raise InvalidInput(f"{what}{key} must have a time zone (Z for UTC)")
        # Year 1 east of UTC, or year 9999 west of it, is no instant in UTC.
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{what}{key} must be an ISO 8601 time, e.g. 2026-11-26T09:30:00.000Z"
        ) from None


def _pages(value: object, what: str) -> tuple[PageView, ...]:
    if not isinstance(value, list):
        raise InvalidInput(f"{what}pages must be a list of page views")
    if len(value) > MAX_PAGES:
        # Refused before each is read: the list's length is the bound.
        raise InvalidInput(f"{what}pages has more than {MAX_PAGES} page views")
    views = []
    for index, item in enumerate(value):
        where = f"{what}pages[{index}]."
        if not isinstance(item, dict):
            raise InvalidInput(f"{what}pages[{index}] must be a JSON object")
        url = _text(item, "url", where, required=True)
        assert url is not None
        views.append(
            PageView(
                url=url,
                title=_text(item, "title", where, required=False),
                at=_time(item, "at", where),
                seconds=_count(item, "seconds", where) or 0,
            )
        )
    return tuple(views)


def visit_fields(data: Mapping[str, object], what: str) -> dict[str, Any]:
    """``VisitorContext``'s visit fields from a ``context`` object (each None if absent)."""
    pages = data.get("pages")
    return {
        "visit_count": _count(data, "visit_count", what),
        "time_on_site": _count(data, "time_on_site", what),
        "pages": None if pages is None else _pages(pages, what),
    }


def parse_trigger(value: object) -> StartedBy | None:
    """``conversation.start``'s ``trigger``: ``{"chain", "id"?}``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("trigger must be a JSON object")
    chain = value.get("chain")
    try:
        step = ChainStep(chain) if isinstance(chain, str) else None
    except ValueError:
        step = None
    if step is None:
        raise InvalidInput(f"trigger.chain must be one of {_STEPS}")
    return StartedBy(chain=step, trigger=_text(value, "id", "trigger.", required=False))
