"""``/analytics``: the widget's public reports (``POST /analytics/events``: no key, checked,
limited per client address, CORS for the widget's origins) and the report endpoints
(per-trigger impressions → engagements, page views per day), through a real app over
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiohttp

from business.model import DEFAULT_TENANT
from presentation.settings import WebSettings
from tests.harness import World
from tests.presentation.api.client import ApiClient, Reply
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import StartServer

CONFIG = {
    "items": [{"id": "hello", "type": "invitation", "text": "Questions?"}],
    "triggers": [
        {"id": "welcome", "action": {"type": "show", "item": "hello"}},
        {"id": "cart", "action": {"type": "open"}, "only_if_available": True},
    ],
}
EVENTS = "/analytics/events"


async def _send(
    api: ApiClient,
    body: object,
    *,
    tenant: str = DEFAULT_TENANT,
    headers: dict[str, str] | None = None,
) -> Reply:
    """As the widget sends: JSON as text/plain (no preflight), no key."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await api.call(
        "POST",
        EVENTS,
        data=data,
        params={"tenant": tenant},
        headers={"Content-Type": "text/plain;charset=UTF-8", **(headers or {})},
    )


def _days() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"first_day": str(today - timedelta(days=6)), "last_day": str(today)}


async def test_the_widgets_reports_count_and_the_report_shows_them(
    api: ApiClient, keys: Keys, world: World
) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, CONFIG)
    view = {"kind": "page_view"}
    shown = {"kind": "impression", "trigger": "welcome"}
    opened = {"kind": "engagement", "trigger": "welcome"}
    sent = await _send(api, {"events": [view, shown, {"kind": "impression", "trigger": "cart"}]})
    assert (sent.status, sent.body) == (200, {"counted": 3, "ignored": 0})
    assert sent.headers["Cache-Control"] == "no-store"
    sent = await _send(
        api, {"events": [view, shown, opened, {"kind": "impression", "trigger": "x"}]}
    )
    assert sent.body == {"counted": 3, "ignored": 1}

    report = await api.get("/analytics/triggers", keys.read, params=_days())
    assert report.status == 200, report.body
    assert report.body["items"] == [
        {"trigger_id": "welcome", "impressions": 2, "engagements": 1, "engagement_rate": 0.5},
        {"trigger_id": "cart", "impressions": 1, "engagements": 0, "engagement_rate": 0.0},
    ]
    views = await api.get("/analytics/page-views", keys.admin, params=_days())
    today = datetime.now(UTC).date().isoformat()
    assert views.body == {
        **_days(),
        "total": 2,
        "items": [{"day": today, "page_views": 2}],
    }
    # Another tenant's key sees its own (nothing).
    theirs = await api.get("/analytics/triggers", keys.other_read, params=_days())
    assert theirs.body["items"] == []


async def test_the_reports_need_a_reading_key_and_a_valid_period(
    api: ApiClient, keys: Keys
) -> None:
    assert (await api.get("/analytics/triggers", None, params=_days())).status == 401
    (await api.get("/analytics/triggers", keys.bot, params=_days())).problem(403, "forbidden")
    missing = await api.get("/analytics/page-views", keys.read, params={"first_day": "2026-01-01"})
    assert "last_day" in missing.problem(400, "invalid_input")
    backwards = {"first_day": "2026-02-01", "last_day": "2026-01-01"}
    reply = await api.get("/analytics/triggers", keys.read, params=backwards)
    assert "before the first" in reply.problem(400, "invalid_input")


async def test_a_bad_report_from_a_browser_is_a_clear_problem(api: ApiClient, world: World) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, CONFIG)
    cases: list[tuple[object, str]] = [
        (b"not json", "not JSON"),
        ({"events": [{"kind": "click"}]}, "events[0].kind"),
        ({"events": [{"kind": "page_view"}] * 51}, "at most 50"),
        ({"events": [{"kind": "impression", "trigger": "<script>"}]}, "events[0].trigger"),
    ]
    for body, detail in cases:
        assert detail in (await _send(api, body)).problem(400, "invalid_input")
    (await _send(api, b"[" + b" " * 9000 + b"]")).problem(413, "too_large")
    (await _send(api, {"events": [{"kind": "page_view"}]}, tenant="nobody")).problem(
        404, "not_found"
    )
    (await _send(api, {"events": [{"kind": "page_view"}]}, tenant="no such")).problem(
        404, "not_found"
    )
    await world.services.widget_configs.put(DEFAULT_TENANT, {**CONFIG, "analytics": False})
    off = await _send(api, {"events": [{"kind": "page_view"}]})
    assert "turned off" in off.problem(403, "forbidden")


async def test_cors_for_the_widgets_sites_and_a_budget_per_address(
    start_server: StartServer,
) -> None:
    settings = WebSettings(
        cors_allowed_origins=("https://shop.example",),
        widget_read_burst=3,
        widget_read_rate_per_second=0.01,
    )
    server = await start_server(settings=settings)
    body = {"events": [{"kind": "page_view"}]}
    async with aiohttp.ClientSession() as http:
        api = ApiClient(f"{server.url}/api/v1", http)
        shop = {"Origin": "https://shop.example"}
        sent = await _send(api, body, headers=shop)
        assert sent.status == 200
        assert sent.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        preflight = await api.call("OPTIONS", EVENTS, headers=shop)
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
        refused = await _send(api, body, headers={"Origin": "https://evil.example"})
        assert "cors_allowed_origins" in refused.problem(403, "forbidden")
        assert "Access-Control-Allow-Origin" not in refused.headers
        # A refused origin and a preflight cost nothing; the budget is three requests.
        for _ in range(2):
            assert (await _send(api, body)).status == 200
        limited = await _send(api, body)
        assert "too many widget requests" in limited.problem(429, "rate_limited")
