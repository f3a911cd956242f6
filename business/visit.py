"""The visit as the widget's chat manager records it: the pages a visitor saw, and what
started their chat.

The browser keeps the record and sends it only once the visitor has a conversation
(``docs/widget-guide.md``, Tracking); ``VisitorContext`` carries it. Everything here is
bounded, because it comes from the visitor's browser and every agent reads it: at most
``MAX_PAGES`` page views, each with an address and title no longer than the engine's
field limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from business.errors import InvalidInput, TooLarge

MAX_PAGES: Final = 20
"""Page views of a visit a context keeps: the newest ones (the widget keeps as many)."""
MAX_VISIT_COUNT: Final = 1_000_000
MAX_SECONDS: Final = 10 * 365 * 86400
"""Longer than any visit or page view: a larger number is a broken client."""
TRIGGER_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
"""A trigger's id, as the widget configuration has them (``business.widget_config``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PageView:
    """One page the visitor saw: an address they went to (a load, or a single-page
    app's navigation), its title (the latest, as it changed while the page was open),
    when they came to it (the browser's clock) and how long they stayed so far."""

    url: str
    title: str | None = None
    at: datetime
    seconds: int = 0


class ChainStep(StrEnum):
    """Which step of the chat manager's chain showed the chat the visitor started."""

    EMBEDDED = "embedded"
    CONTINUATION = "continuation"
    MESSAGING = "messaging"
    TRIGGERS = "triggers"


@dataclass(frozen=True, slots=True, kw_only=True)
class StartedBy:
    """What started a conversation: the chain step and, for ``triggers``, the id of
    the trigger that fired (None: the visitor opened the chat from the button before
    any trigger fired, or a client that does not say)."""

    chain: ChainStep
    trigger: str | None = None


def check_pages(pages: tuple[PageView, ...], max_length: int) -> None:
    """At most ``MAX_PAGES`` page views, each address 1 to ``max_length`` characters and
    each title at most that, each stay 0 to ``MAX_SECONDS``."""
    if len(pages) > MAX_PAGES:
        raise TooLarge(f"context.pages has more than {MAX_PAGES} page views")
    for index, page in enumerate(pages):
        what = f"context.pages[{index}]"
        if not page.url:
            raise InvalidInput(f"{what}.url must not be empty")
        for name, value in (("url", page.url), ("title", page.title)):
            if value is not None and len(value) > max_length:
                raise TooLarge(f"{what}.{name} is longer than {max_length} characters")
        if not 0 <= page.seconds <= MAX_SECONDS:
            raise InvalidInput(f"{what}.seconds must be 0 to {MAX_SECONDS}")


def check_counts(visit_count: int | None, time_on_site: int | None) -> None:
    if visit_count is not None and not 1 <= visit_count <= MAX_VISIT_COUNT:
        raise InvalidInput(f"context.visit_count must be 1 to {MAX_VISIT_COUNT}")
    if time_on_site is not None and not 0 <= time_on_site <= MAX_SECONDS:
        raise InvalidInput(f"context.time_on_site must be 0 to {MAX_SECONDS} seconds")


def check_started_by(started_by: StartedBy) -> None:
    trigger = started_by.trigger
    if trigger is not None and not TRIGGER_ID_RE.fullmatch(trigger):
        raise InvalidInput(
            "trigger.id must be a trigger's id: a lower-case letter or digit, then up to "
            "39 of them, '_' or '-'"
        )


def moved_to(before_url: str | None, after_url: str | None) -> bool:
    """Whether a context update took the visitor to another page: a new address, not
    the same one again (nor a title that changed on the same page). The fragment counts:
    single-page apps route by it."""
    return after_url is not None and before_url is not None and after_url != before_url
