"""``chat-engine report triggers`` and ``report page-views`` against a real SQLite file
with counters the service recorded (on a clock moved by hand)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from business.analytics import parse_batch
from business.model import DEFAULT_TENANT
from data import Database
from tests.chat_engine.test_cli import db_url, run
from tests.fakes import FakeClock
from tests.harness import make_world


async def _counted(url: str) -> None:
    database = Database.from_url(url)
    try:
        await database.migrate()
        world = await make_world(uow=database.unit_of_work, clock=FakeClock())  # 2026-01-01
        await world.services.widget_configs.put(
            DEFAULT_TENANT,
            {
                "items": [{"id": "hello", "type": "invitation", "text": "Hi"}],
                "triggers": [{"id": "welcome", "action": {"type": "show", "item": "hello"}}],
            },
        )
        analytics = world.services.analytics
        view = {"kind": "page_view"}
        shown = {"kind": "impression", "trigger": "welcome"}
        opened = {"kind": "engagement", "trigger": "welcome"}
        await analytics.record(DEFAULT_TENANT, parse_batch({"events": [view, shown, shown, shown]}))
        world.advance(24 * 3600)
        await analytics.record(DEFAULT_TENANT, parse_batch({"events": [view, view, shown, opened]}))
    finally:
        await database.dispose()


def test_the_trigger_and_page_view_reports(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    asyncio.run(_counted(url))
    period = ["--first-day", "2026-01-01", "--last-day", "2026-01-02", "--database-url", url]
    code, output = run(["report", "triggers", *period])
    assert code == 0
    assert [re.split(r"\s{2,}", line) for line in output.splitlines()] == [
        ["TRIGGER", "IMPRESSIONS", "ENGAGEMENTS", "RATE"],
        ["welcome", "4", "1", "25.0%"],
    ]
    code, output = run(["report", "page-views", *period])
    assert code == 0
    assert [re.split(r"\s{2,}", line) for line in output.splitlines()] == [
        ["DAY (UTC)", "PAGE VIEWS"],
        ["2026-01-01", "1"],
        ["2026-01-02", "2"],
        ["TOTAL", "3"],
    ]
    code, output = run(["report", "triggers", "--last-day", "2025-12-01", "--database-url", url])
    assert (code, output) == (0, "no trigger fired from 2025-11-02 to 2025-12-01\n")
