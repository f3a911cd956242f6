"""Web analytics: what the widget's analytics module reports (page views, trigger
impressions and engagements) counted per tenant, UTC day, trigger and kind, and the
reports over those counters (per-trigger impressions → engagements, page views per day).

The events come from visitors' browsers without any credentials, so everything here is
bounded: a batch holds at most ``MAX_BATCH`` events of known kinds; a trigger id has the
shape of the widget configuration's ids, and one the tenant's configuration does not have
(any more: a page loaded before a change) is ignored, never stored, so nobody can grow the
counters table with made-up triggers. The day is the engine's (UTC), never the browser's.
A tenant whose widget configuration says ``"analytics": false`` counts nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from business.analytics_ports import NO_TRIGGER, AnalyticsCount, AnalyticsKind, CounterKey
from business.errors import Forbidden, InvalidInput, NotFound
from business.model import TenantId
from business.ports import Clock
from business.transactions import Transactions
from business.widget_config import (
    DEFAULT_DOCUMENT,
    TRIGGER_ID,
    default_config,
    effective_document,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 50
"""Events in one report from a browser (the widget sends far fewer: a page view and a
few triggers per page)."""
MAX_DAYS = 366
"""The longest range one report covers."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsEvent:
    kind: AnalyticsKind
    trigger_id: str
    """``NO_TRIGGER`` for a page view."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedBatch:
    counted: int
    ignored: int
    """Events of triggers the tenant's configuration does not have."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerFigures:
    """One trigger over a period: how often it fired (impressions) and how often the
    visitor opened the chat from it (engagements); ``engagement_rate`` is engagements per
    impression, rounded to 4 places, None without impressions."""

    trigger_id: str
    impressions: int
    engagements: int
    engagement_rate: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PageViewDay:
    day: date
    page_views: int


def parse_batch(raw: object) -> list[AnalyticsEvent]:
    """``{"events": [{"kind": KIND, "trigger": ID}, ...]}`` checked: ``InvalidInput``
    naming the first problem by its path (``events[2].kind: ...``). A page view names no
    trigger; an impression or an engagement names one."""
    if not isinstance(raw, dict) or set(raw) != {"events"}:
        raise InvalidInput('the body: an object with "events" and nothing else')
    listed = raw["events"]
    if not isinstance(listed, list) or not listed:
        raise InvalidInput("events: a list of at least one event")
    if len(listed) > MAX_BATCH:
        raise InvalidInput(f"events: at most {MAX_BATCH} in one request")
    return [_event(item, f"events[{i}]") for i, item in enumerate(listed)]


def _event(raw: object, where: str) -> AnalyticsEvent:
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: an object")
    unknown = sorted(str(key) for key in raw if key not in ("kind", "trigger"))
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r} (expected kind, trigger)")
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in set(AnalyticsKind):
        raise InvalidInput(f"{where}.kind: one of {', '.join(AnalyticsKind)}")
    trigger = raw.get("trigger")
    if kind == AnalyticsKind.PAGE_VIEW:
        if trigger is not None:
            raise InvalidInput(f"{where}.trigger: a page view names no trigger")
        return AnalyticsEvent(kind=AnalyticsKind.PAGE_VIEW, trigger_id=NO_TRIGGER)
    if not isinstance(trigger, str) or not TRIGGER_ID.fullmatch(trigger):
        raise InvalidInput(f"{where}.trigger: a trigger id (1 to 40 of a-z, 0-9, '-', '_')")
    return AnalyticsEvent(kind=AnalyticsKind(kind), trigger_id=trigger)


def _check_range(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise InvalidInput("the last day comes before the first")
    if (last_day - first_day).days >= MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days at a time")


class AnalyticsService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock

    async def record(self, tenant_id: TenantId, events: Sequence[AnalyticsEvent]) -> RecordedBatch:
        """Count ``events`` (``parse_batch``'s) on today's counters of the tenant, in one
        transaction. ``NotFound`` for an unknown tenant, ``Forbidden`` when its widget
        configuration turned analytics off."""
        day = self._clock.now().date()
        async with self._tx() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            config = await tx.widget_configs.get(tenant_id) or default_config(tenant_id)
            if not config.document.get("analytics", DEFAULT_DOCUMENT["analytics"]):
                raise Forbidden("web analytics is turned off for this tenant")
            triggers = effective_document(config.document)["triggers"]
            assert isinstance(triggers, list)
            known = {t["id"] for t in triggers if isinstance(t, dict)}
            counts: Counter[CounterKey] = Counter(
                (event.kind, event.trigger_id)
                for event in events
                if event.kind is AnalyticsKind.PAGE_VIEW or event.trigger_id in known
            )
            counted = counts.total()
            if counts:
                await tx.analytics.add(tenant_id, day, counts)
                await tx.commit()
        return RecordedBatch(counted=counted, ignored=len(events) - counted)

    async def triggers(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[TriggerFigures]:
        """Per trigger, its impressions and engagements from ``first_day`` to ``last_day``
        (UTC days, both included), most impressions first (then by id); triggers with
        neither are left out."""
        counts = await self._counts(tenant_id, first_day, last_day)
        impressions: Counter[str] = Counter()
        engagements: Counter[str] = Counter()
        for count in counts:
            if count.kind is AnalyticsKind.IMPRESSION:
                impressions[count.trigger_id] += count.count
            elif count.kind is AnalyticsKind.ENGAGEMENT:
                engagements[count.trigger_id] += count.count
        ids = sorted(set(impressions) | set(engagements), key=lambda t: (-impressions[t], t))
        return [
            TriggerFigures(
                trigger_id=t,
                impressions=impressions[t],
                engagements=engagements[t],
                engagement_rate=round(engagements[t] / impressions[t], 4)
                if impressions[t]
                else None,
            )
            for t in ids
        ]

    async def page_views(
        self, tenant_id: TenantId, *, first_day: date, last_day: date
    ) -> list[PageViewDay]:
        """Page views per UTC day from ``first_day`` to ``last_day``, by day; days
        without any are left out."""
        counts = await self._counts(tenant_id, first_day, last_day)
        days: Counter[date] = Counter()
        for count in counts:
            if count.kind is AnalyticsKind.PAGE_VIEW:
                days[count.day] += count.count
        return [PageViewDay(day=day, page_views=days[day]) for day in sorted(days)]

    async def _counts(
        self, tenant_id: TenantId, first_day: date, last_day: date
    ) -> Sequence[AnalyticsCount]:
        _check_range(first_day, last_day)
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            return await tx.analytics.counts(tenant_id, first_day=first_day, last_day=last_day)
