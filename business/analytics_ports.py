"""The port of web analytics counters (``business.analytics``), apart from
``business.ports`` to keep that module readable; ``business.ports.UnitOfWork`` offers it
as ``analytics``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from business.model import TenantId


class AnalyticsKind(StrEnum):
    """What the widget's analytics module reports."""

    PAGE_VIEW = "page_view"
    """A page with the widget was viewed (no trigger)."""
    IMPRESSION = "impression"
    """A trigger fired on a page: its item (button, invitation) showed, or the chat opened."""
    ENGAGEMENT = "engagement"
    """The visitor opened the chat from what a trigger showed (once per trigger and page)."""


NO_TRIGGER = ""
"""The trigger of a page view: counters are keyed by a text, never NULL, so that one
upsert statement finds the row on every database."""

CounterKey = tuple[AnalyticsKind, str]
"""(kind, trigger id or ``NO_TRIGGER``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsCount:
    """One counter: how many events of ``kind`` for ``trigger_id`` on one UTC day."""

    day: date
    kind: AnalyticsKind
    trigger_id: str
    count: int


class AnalyticsRepository(Protocol):
    """Counters per (tenant, UTC day, trigger, kind): aggregated, never one row per event,
    so what is stored grows with days and triggers, not with traffic."""

    async def add(self, tenant_id: TenantId, day: date, counts: Mapping[CounterKey, int]) -> None:
        """Add each count to its counter, creating the counters that do not exist yet; two
        transactions adding to the same counter at once both count (one statement per
        counter, an upsert that adds)."""
        ...

    async def counts(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> Sequence[AnalyticsCount]:
        """The tenant's counters from ``first_day`` to ``last_day`` (both included), in no
        particular order."""
        ...
