"""The widget's analytics module in headless Chromium against the real server: the demo
page's trigger fires (an impression), the visitor opens the chat from it (an
engagement), page views count; then with the analytics backend unreachable the module
turns itself off for the tab, quietly, and a new window tries again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Request, Route, expect

from business.analytics import TriggerFigures
from business.model import DEFAULT_TENANT
from tests.harness import World
from tests.presentation.conftest import Server
from tests.presentation.test_widget_manager import _context, _invitation, _on_demo

pytestmark = pytest.mark.e2e

EVENTS = "/api/v1/analytics/events"
OFF_FLAG = "sessionStorage.getItem('chat-engine:default:analytics-off')"


async def _figures(world: World) -> tuple[int, list[TriggerFigures]]:
    today = datetime.now(UTC).date()
    views = await world.services.analytics.page_views(
        DEFAULT_TENANT, first_day=today, last_day=today
    )
    triggers = await world.services.analytics.triggers(
        DEFAULT_TENANT, first_day=today, last_day=today
    )
    return sum(v.page_views for v in views), triggers


async def _counted(world: World, views: int, impressions: int, engagements: int) -> None:
    """Waits (the widget sends batches about a second apart) until the counters say so."""
    want = (views, [("welcome", impressions, engagements)])
    got: object = None
    for _ in range(100):
        total, triggers = await _figures(world)
        got = (total, [(t.trigger_id, t.impressions, t.engagements) for t in triggers])
        if got == want:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"counted {got}, expected {want}")


def _watch(page: Page) -> tuple[list[str], list[str]]:
    """The analytics requests the page makes, and what reaches its console as a warning
    or an error (the page's own script errors included)."""
    sent: list[str] = []
    console: list[str] = []

    def on_request(request: Request) -> None:
        if EVENTS in request.url:
            sent.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        # (The demo site has no favicon: Chromium's own 404 for it is not the widget's.)
        url = message.location.get("url", "")
        if message.type in ("error", "warning") and not url.endswith("/favicon.ico"):
            console.append(f"{message.text} ({message.location.get('url')})")

    page.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    return sent, console


async def test_impressions_and_engagements_count_and_an_unreachable_backend_turns_it_off(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {"items": [_invitation("hello", "Questions?")], "triggers": [_on_demo("welcome", "hello")]},
    )
    context = await _context(browser)
    page = await context.new_page()
    sent, console = _watch(page)

    # The demo page's invitation shows: a page view and an impression.
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("invitation")).to_be_visible()
    await _counted(world, views=1, impressions=1, engagements=0)
    # The visitor accepts it: an engagement of that trigger.
    await page.get_by_test_id("invitation-accept").click()
    await expect(page.get_by_test_id("window")).to_be_visible()
    await _counted(world, views=1, impressions=1, engagements=1)
    # A single-page app's navigation is a page view too (the visit tracking's).
    await page.evaluate("history.pushState({}, '', '/demo?step=2')")
    await _counted(world, views=2, impressions=1, engagements=1)
    assert console == []
    reached = len(sent)
    assert reached >= 1

    # The analytics backend cannot be reached from this tab now (the connection is
    # refused, as from an engine that is down): the next page's report fails once and
    # the module turns itself off for the tab.
    async def refuse(route: Route) -> None:
        await route.abort("connectionrefused")

    await context.route(f"**{EVENTS}*", refuse)
    await page.goto(f"{server.url}/demo/checkout")
    await page.wait_for_function(f"{OFF_FLAG} === 'true'")
    # One report fails; a second batch may have left before that failure came back (the
    # page's view and its impression a second apart on a loaded machine), no more.
    refused = len(sent) - reached
    assert 1 <= refused <= 2, sent
    # Nothing from the module itself: at most the browser's own line for each request.
    assert len(console) <= refused, console
    assert all(EVENTS in line and "ERR_CONNECTION_REFUSED" in line for line in console), console

    # The next page of the tab sends nothing at all, and the console stays quiet.
    console.clear()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    await page.wait_for_timeout(1500)  # longer than a batch waits
    assert len(sent) == reached + refused
    assert console == []
    await context.close()

    # A new window (a new sessionStorage) tries again, and reaches the engine.
    fresh = await _context(browser)
    other = await fresh.new_page()
    other_sent, other_console = _watch(other)
    await other.goto(f"{server.url}/demo")
    await expect(other.get_by_test_id("invitation")).to_be_visible()
    await _counted(world, views=3, impressions=2, engagements=1)
    assert other_sent
    assert await other.evaluate(OFF_FLAG) is None
    assert other_console == []
    await fresh.close()
