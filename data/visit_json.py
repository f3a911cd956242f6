"""The visit (``business.visit``) as it is stored: inside the conversation's ``context``
JSON (the page views, the visit count, the time on site) and in its ``started_by``
column (migration 0020). Rows written before either have none of it: read as not told."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from business.model import VisitorContext
from business.visit import ChainStep, PageView, StartedBy


def visit_to_json(context: VisitorContext) -> dict[str, Any]:
    """The visit's keys of the context document (none when the browser told nothing)."""
    data: dict[str, Any] = {}
    if context.visit_count is not None:
        data["visit_count"] = context.visit_count
    if context.time_on_site is not None:
        data["time_on_site"] = context.time_on_site
    if context.pages is not None:
        data["pages"] = [
            {"url": p.url, "title": p.title, "at": p.at.isoformat(), "seconds": p.seconds}
            for p in context.pages
        ]
    return data


def visit_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """``VisitorContext``'s visit fields from a stored context document."""
    pages = data.get("pages")
    return {
        "visit_count": data.get("visit_count"),
        "time_on_site": data.get("time_on_site"),
        "pages": None
        if pages is None
        else tuple(
            PageView(
                url=p["url"],
                title=p.get("title"),
                at=datetime.fromisoformat(p["at"]),
                seconds=int(p.get("seconds") or 0),
            )
            for p in pages
        ),
    }


def started_by_to_json(started_by: StartedBy | None) -> dict[str, Any] | None:
    if started_by is None:
        return None
    return {"chain": started_by.chain.value, "trigger": started_by.trigger}


def started_by_from_json(data: Mapping[str, Any] | None) -> StartedBy | None:
    if data is None:
        return None
    return StartedBy(chain=ChainStep(data["chain"]), trigger=data.get("trigger"))
