"""``/reports``: conversation reports as JSON pages and as one streamed CSV, a report on
its own, and per-queue daily figures, through a real app over SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, ConversationId
from business.report_metrics import REPORT_FIELDS
from presentation.api.resources import reports as reports_resource
from tests.harness import World
from tests.presentation.api.chats import ALICE, chat
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys


async def _ended_chats(world: World, count: int) -> list[ConversationId]:
    ended = []
    for n in range(count):
        conv = await chat(world, name=f"Visitor {n}")
        await world.services.integrator_control.end(
            EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id)
        )
        ended.append(conv.id)
    return ended


async def _csv(api: ApiClient, key: str, **params: str) -> tuple[aiohttp.ClientResponse, str]:
    async with api.http.get(
        f"{api.base}/reports/conversations",
        params=params,
        headers={"Authorization": f"Bearer {key}", "Accept": "text/csv"},
    ) as response:
        return response, await response.text()


async def test_reports_as_json_pages(api: ApiClient, keys: Keys, world: World) -> None:
    ended = await _ended_chats(world, 3)
    open_one = await chat(world)
    items = await api.all_items("/reports/conversations", keys.read, limit=2)
    assert [item["conversation_id"] for item in items] == ended  # oldest end first
    first = items[0]
    assert list(first) == list(REPORT_FIELDS)
    assert first["agent_id"] == ALICE
    assert first["agent_name"] == "Alice"
    assert first["outcome"] == "answered"
    assert first["messages_visitor"] == 1
    assert first["messages_agent"] == 1
    assert first["wait_seconds"] is not None

    one = await api.get(f"/reports/conversations/{ended[0]}", keys.read)
    assert one.body == first
    reply = await api.get(f"/reports/conversations/{open_one.id}", keys.read)
    assert "has not ended" in reply.problem(404, "not_found")

    async def ids(**params: str) -> list[str]:
        reply = await api.get("/reports/conversations", keys.read, params=params)
        assert reply.status == 200, reply.body
        return [item["conversation_id"] for item in reply.body["items"]]

    assert await ids(agent_id=ALICE) == ended
    assert await ids(agent_id="nobody") == []
    assert await ids(queue="sales") == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await ids(since=future) == []
    assert await ids(until=future) == ended


async def test_reports_as_one_csv_streamed_page_by_page(
    api: ApiClient, keys: Keys, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = await _ended_chats(world, 5)
    # Pages of two, so that the stream spans three of them.
    monkeypatch.setattr(reports_resource, "MAX_PAGE_SIZE", 2)
    response, text = await _csv(api, keys.read)
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.charset == "utf-8"
    # Streamed: chunked, no length known up front.
    assert response.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(REPORT_FIELDS)
    assert [row[0] for row in rows[1:]] == ended
    json_items = await api.all_items("/reports/conversations", keys.read)
    assert len(rows) - 1 == len(json_items)
    assert text.endswith("\r\n")

    # From a cursor on: the rest only, header included.
    page = await api.get("/reports/conversations", keys.read, params={"limit": "3"})
    _, rest = await _csv(api, keys.read, cursor=page.body["next_cursor"])
    assert [row[0] for row in list(csv.reader(io.StringIO(rest)))[1:]] == ended[3:]
    # Nothing matches: the header alone.
    _, empty = await _csv(api, keys.read, agent_id="nobody")
    assert empty == ",".join(REPORT_FIELDS) + "\r\n"


async def test_a_bad_cursor_is_a_problem_even_for_csv(api: ApiClient, keys: Keys) -> None:
    response, text = await _csv(api, keys.read, cursor="bm90LW1pbmU")
    assert response.status == 400
    assert response.content_type == "application/problem+json"
    assert "cursor" in text


async def test_daily_figures_per_queue(api: ApiClient, keys: Keys, world: World) -> None:
    await _ended_chats(world, 2)
    today = datetime.now(UTC).date()
    reply = await api.get(
        "/reports/queues/daily",
        keys.read,
        params={"first_day": str(today - timedelta(days=1)), "last_day": str(today)},
    )
    assert reply.status == 200, reply.body
    (day,) = reply.body["items"]
    assert day["queue"] == "support"
    assert day["day"] == str(today)
    assert day["conversations"] == 2
    assert day["answered"] == 2
    assert day["abandoned"] == 0
    assert day["wait_p50_seconds"] is not None
    other = await api.get(
        "/reports/queues/daily",
        keys.read,
        params={"first_day": str(today), "last_day": str(today), "queue": "sales"},
    )
    assert other.body == {"items": []}


@pytest.mark.parametrize(
    "params",
    [
        {"first_day": "2026-05-02", "last_day": "2026-05-01"},
        {"first_day": "2025-01-01", "last_day": "2026-05-01"},
        {"first_day": "2026-05-01"},
        {"first_day": "2026-05-01", "last_day": "9999-12-31"},
        {"first_day": "not a day", "last_day": "2026-05-01"},
    ],
)
async def test_bad_days_are_400(api: ApiClient, keys: Keys, params: dict[str, str]) -> None:
    reply = await api.get("/reports/queues/daily", keys.read, params=params)
    reply.problem(400, "invalid_input")


async def test_reports_are_for_admin_and_read_keys(api: ApiClient, keys: Keys) -> None:
    for path in ("/reports/conversations", "/reports/queues/daily"):
        reply = await api.get(path, keys.bot)
        reply.problem(403, "forbidden")
    reply = await api.get("/reports/conversations", keys.admin)
    assert reply.body == {"items": [], "next_cursor": None}
