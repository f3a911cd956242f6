"""``/analytics``: what the widget's analytics module counted for the key's tenant —
per-trigger impressions → engagements over a period, and page views per day.

Through ``AnalyticsService`` (``business.analytics``), as ``chat-engine report triggers``
and ``chat-engine report page-views`` do. The browsers' reports themselves arrive at
``POST /api/v1/analytics/events`` (``presentation.analytics_api``): that one takes no key,
so it is not part of this registry or its document.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from business.analytics import MAX_DAYS
from presentation.api.fields import Day
from presentation.api.registry import READERS, Call, Empty, Params, Resource

resource = Resource(
    "analytics",
    "Web analytics the widget reports: page views, and for each trigger how often it "
    "fired (impressions) and how often visitors opened the chat from it (engagements).",
)


class PeriodQuery(Params):
    first_day: Day
    last_day: Day = Field(description=f"included; at most {MAX_DAYS - 1} days after `first_day`")


class TriggerOut(BaseModel):
    trigger_id: str
    impressions: int = Field(description="times the trigger fired and showed its item")
    engagements: int = Field(
        description="times a visitor opened the chat from it (at most once per page)"
    )
    engagement_rate: float | None = Field(
        description="engagements per impression, to 4 places; null without impressions"
    )


class TriggerFiguresOut(BaseModel):
    first_day: date
    last_day: date
    items: list[TriggerOut] = Field(
        description="most impressions first; triggers that never fired are left out"
    )


class PageViewDayOut(BaseModel):
    day: date
    page_views: int


class PageViewsOut(BaseModel):
    first_day: date
    last_day: date
    total: int
    items: list[PageViewDayOut] = Field(description="by day; days without any are left out")


@resource.route(
    "GET",
    "/analytics/triggers",
    summary="Per-trigger impressions and engagements",
    scopes=READERS,
    params=Empty,
    query=PeriodQuery,
    body=Empty,
    response=TriggerFiguresOut,
)
async def list_trigger_figures(call: Call[Empty, PeriodQuery, Empty]) -> TriggerFiguresOut:
    """From `first_day` to `last_day` (UTC days, both included): for each trigger, its
    impressions, engagements and their rate. Counted by the widget's analytics module
    unless the widget configuration turned it off (`"analytics": false`)."""
    q = call.query
    figures = await call.services.analytics.triggers(
        call.tenant_id, first_day=q.first_day, last_day=q.last_day
    )
    return TriggerFiguresOut(
        first_day=q.first_day,
        last_day=q.last_day,
        items=[
            TriggerOut(
                trigger_id=f.trigger_id,
                impressions=f.impressions,
                engagements=f.engagements,
                engagement_rate=f.engagement_rate,
            )
            for f in figures
        ],
    )


@resource.route(
    "GET",
    "/analytics/page-views",
    summary="Page views per day",
    scopes=READERS,
    params=Empty,
    query=PeriodQuery,
    body=Empty,
    response=PageViewsOut,
)
async def list_page_view_days(call: Call[Empty, PeriodQuery, Empty]) -> PageViewsOut:
    """Pages viewed with the widget on them, per UTC day from `first_day` to `last_day`
    (both included), and their total."""
    q = call.query
    days = await call.services.analytics.page_views(
        call.tenant_id, first_day=q.first_day, last_day=q.last_day
    )
    return PageViewsOut(
        first_day=q.first_day,
        last_day=q.last_day,
        total=sum(d.page_views for d in days),
        items=[PageViewDayOut(day=d.day, page_views=d.page_views) for d in days],
    )
