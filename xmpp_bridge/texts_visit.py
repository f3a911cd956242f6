"""The texts of the visitor's visit as the widget recorded it (``business.visit``): on
the offer, in ``!info``, and the notice when the visitor goes to another page. (The same
rules as ``xmpp_bridge.texts`` hold for a translation.)"""

from __future__ import annotations

from datetime import timedelta

from business.model import VisitorContext
from business.visit import ChainStep, StartedBy
from xmpp_bridge.texts import format_duration, shorten

_TITLE_CHARS = 120
_URL_CHARS = 300
INFO_PAGES = 10
"""Page views ``!info`` lists at most, the newest."""


def page(title: str | None, url: str) -> str:
    """A page as agents read it: its title, then its address."""
    url = shorten(url, _URL_CHARS)
    return f"{shorten(title, _TITLE_CHARS)} - {url}" if title else url


def visitor_moved(title: str | None, url: str) -> str:
    """The notice to the chat's agent when the visitor went to another page."""
    return f"Visitor moved to: {page(title, url)}"


IDENTIFIED_LABELS = {"name": "name", "email": "e-mail", "avatar": "avatar"}
"""The labels of identify()'s own fields in the notice; custom fields go by their key."""
_VALUE_CHARS = 200


def identified_changes(changes: tuple[tuple[str, str], ...], labels: dict[str, str]) -> str:
    """``name: Ann Lee, e-mail: ann@example.com, plan: pro`` (long values cut)."""
    return ", ".join(
        f"{labels.get(key, key)}: {shorten(value, _VALUE_CHARS)}" for key, value in changes
    )


def visitor_identified(changes: tuple[tuple[str, str], ...]) -> str:
    """The notice to the chat's agent when the site told who the visitor is."""
    return f"The visitor's details changed: {identified_changes(changes, IDENTIFIED_LABELS)}"


def started_by(started: StartedBy) -> str:
    match started.chain:
        case ChainStep.TRIGGERS:
            how = f"trigger {started.trigger}" if started.trigger else "the chat button"
        case ChainStep.EMBEDDED:
            how = "the chat embedded in the page"
        case ChainStep.CONTINUATION:
            how = "the chat carried on from an earlier page"
        case ChainStep.MESSAGING:
            how = "an open messaging thread"
    return f"Started by: {how}"


def visit_summary(ctx: VisitorContext) -> str | None:
    """One line: which visit this is, how many pages in it, how long on the site; None
    when the browser told none of it."""
    parts = []
    if ctx.visit_count is not None:
        parts.append("first visit" if ctx.visit_count == 1 else f"visit {ctx.visit_count}")
    if ctx.pages:
        parts.append(f"{len(ctx.pages)} page{'s' if len(ctx.pages) != 1 else ''} in this visit")
    if ctx.time_on_site is not None:
        parts.append(f"{format_duration(timedelta(seconds=ctx.time_on_site))} on the site")
    return f"Visit: {', '.join(parts)}" if parts else None


def visit_lines(ctx: VisitorContext, started: StartedBy | None) -> list[str]:
    """``!info``'s lines on the visit: the summary, the newest pages with how long the
    visitor stayed on each, and what started the chat."""
    lines = []
    if (summary := visit_summary(ctx)) is not None:
        lines.append(summary)
    pages = ctx.pages or ()
    if pages:
        shown = pages[-INFO_PAGES:]
        more = len(pages) - len(shown)
        lines.append(
            "Pages in this visit (oldest first"
            + (f", {more} earlier not shown" if more else "")
            + "):"
        )
        for view in shown:
            stay = format_duration(timedelta(seconds=view.seconds))
            lines.append(f"  {page(view.title, view.url)} ({stay})")
    if started is not None:
        lines.append(started_by(started))
    return lines
