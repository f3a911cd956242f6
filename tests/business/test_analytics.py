"""Web analytics (``business.analytics``): a browser's batch checked, counted on the
engine's UTC day per trigger and kind, triggers the configuration does not have ignored,
the tenant's switch; and the reports over the counters (on the fakes)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from business.analytics import (
    MAX_BATCH,
    PageViewDay,
    TriggerFigures,
    parse_batch,
)
from business.errors import Forbidden, InvalidInput, NotFound
from business.model import DEFAULT_TENANT, TenantId
from tests.fakes import FakeClock
from tests.harness import World, make_world

TODAY = date(2026, 1, 1)  # FakeClock's start
CONFIG: dict[str, Any] = {
    "items": [{"id": "hello", "type": "invitation", "text": "Questions?"}],
    "triggers": [
        {"id": "welcome", "action": {"type": "show", "item": "hello"}, "conditions": None},
        {"id": "cart", "action": {"type": "open"}, "only_if_available": True},
    ],
}


def batch(*events: dict[str, str]) -> dict[str, Any]:
    return {"events": list(events)}


VIEW = {"kind": "page_view"}


def shown(trigger: str) -> dict[str, str]:
    return {"kind": "impression", "trigger": trigger}


def opened(trigger: str) -> dict[str, str]:
    return {"kind": "engagement", "trigger": trigger}


@pytest.fixture
async def world() -> World:
    world = await make_world(clock=FakeClock(), tenants={TenantId("other"): "Other"})
    await world.services.widget_configs.put(DEFAULT_TENANT, CONFIG)
    return world


async def record(world: World, *events: dict[str, str], tenant: str = DEFAULT_TENANT) -> Any:
    return await world.services.analytics.record(TenantId(tenant), parse_batch(batch(*events)))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([VIEW], "an object"),
        ({"events": [VIEW], "more": 1}, "an object"),
        ({"events": []}, "at least one"),
        ({"events": [VIEW] * (MAX_BATCH + 1)}, f"at most {MAX_BATCH}"),
        (batch({"kind": "click"}), "events[0].kind: one of page_view, impression, engagement"),
        (batch(VIEW, {"kind": "page_view", "trigger": "welcome"}), "events[1].trigger: a page"),
        (batch(shown("Welcome!")), "events[0].trigger: a trigger id"),
        (batch({"kind": "impression"}), "events[0].trigger: a trigger id"),
        (batch(shown("x" * 41)), "events[0].trigger"),
        (batch({"kind": "page_view", "url": "https://x"}), "unknown key 'url'"),
        ({"events": ["page_view"]}, "events[0]: an object"),
    ],
)
def test_a_bad_batch_is_refused_naming_the_problem(raw: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_batch(raw)


async def test_events_are_counted_per_trigger_and_the_rate_follows(world: World) -> None:
    done = await record(world, VIEW, shown("welcome"), shown("cart"), VIEW)
    assert (done.counted, done.ignored) == (4, 0)
    await record(world, VIEW, shown("welcome"), opened("welcome"))
    await record(world, shown("welcome"), shown("welcome"), opened("welcome"))
    # A trigger the configuration does not have (a page from before a change) is ignored.
    stale = await record(world, shown("gone"), opened("gone"), VIEW)
    assert (stale.counted, stale.ignored) == (1, 2)

    figures = await world.services.analytics.triggers(
        DEFAULT_TENANT, first_day=TODAY, last_day=TODAY
    )
    assert figures == [
        TriggerFigures(trigger_id="welcome", impressions=4, engagements=2, engagement_rate=0.5),
        TriggerFigures(trigger_id="cart", impressions=1, engagements=0, engagement_rate=0.0),
    ]
    views = await world.services.analytics.page_views(
        DEFAULT_TENANT, first_day=TODAY, last_day=TODAY
    )
    assert views == [PageViewDay(day=TODAY, page_views=4)]


async def test_the_engines_utc_day_counts_and_ranges_select_days(world: World) -> None:
    await record(world, VIEW, shown("welcome"))
    world.advance(24 * 3600)
    await record(world, VIEW, VIEW, opened("welcome"))
    tomorrow = TODAY + timedelta(days=1)
    analytics = world.services.analytics
    assert await analytics.page_views(DEFAULT_TENANT, first_day=TODAY, last_day=tomorrow) == [
        PageViewDay(day=TODAY, page_views=1),
        PageViewDay(day=tomorrow, page_views=2),
    ]
    # Engagements without an impression in the period: no rate.
    assert await analytics.triggers(DEFAULT_TENANT, first_day=tomorrow, last_day=tomorrow) == [
        TriggerFigures(trigger_id="welcome", impressions=0, engagements=1, engagement_rate=None)
    ]
    assert await analytics.triggers(TenantId("other"), first_day=TODAY, last_day=tomorrow) == []


async def test_bad_ranges_and_unknown_tenants_are_refused(world: World) -> None:
    analytics = world.services.analytics
    with pytest.raises(InvalidInput, match="before the first"):
        await analytics.triggers(DEFAULT_TENANT, first_day=TODAY, last_day=TODAY - timedelta(1))
    with pytest.raises(InvalidInput, match="at most 366 days"):
        await analytics.page_views(
            DEFAULT_TENANT, first_day=TODAY, last_day=TODAY + timedelta(days=366)
        )
    with pytest.raises(NotFound):
        await analytics.triggers(TenantId("nobody"), first_day=TODAY, last_day=TODAY)
    with pytest.raises(NotFound):
        await record(world, VIEW, tenant="nobody")


async def test_a_tenant_that_turned_analytics_off_counts_nothing(world: World) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, {**CONFIG, "analytics": False})
    with pytest.raises(Forbidden, match="turned off"):
        await record(world, VIEW)
    assert (
        await world.services.analytics.page_views(DEFAULT_TENANT, first_day=TODAY, last_day=TODAY)
        == []
    )
    # Another tenant, with the default configuration, counts (only the default trigger).
    done = await record(world, VIEW, shown("default"), shown("welcome"), tenant="other")
    assert (done.counted, done.ignored) == (2, 1)
