"""``chat-engine report conversations`` against a real SQLite file with two chats that
really happened (through the services, on a clock moved by hand)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data import Database
from tests.chat_engine.test_cli import db_url, run
from tests.fakes import FakeClock
from tests.harness import ALICE, SALES, make_world


async def _two_chats(url: str) -> None:
    database = Database.from_url(url)
    try:
        await database.migrate()
        world = await make_world(uow=database.unit_of_work, clock=FakeClock())
        await world.services.queue_settings.configure(
            c.ConfigureQueue(
                tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, wrap_up_codes=("resolved",)
            )
        )
        await world.agent(ALICE, name="Alice", address="alice@example.com")
        answered = await world.start(await world.visitor(), "hi")  # 12:00:00, Alice takes it
        world.advance(4)
        await world.agent_says(ALICE, answered.id, "Hello!")
        world.advance(56)
        await world.conversations.end_by_agent(
            c.EndConversationByAgent(
                agent_id=ALICE, conversation_id=answered.id, wrap_up="resolved"
            )
        )  # 12:01:00
        abandoned = await world.start(await world.visitor(), "sales?", queue=SALES)
        world.advance(90)
        await world.conversations.end_by_visitor(
            c.EndConversationByVisitor(
                visitor_id=abandoned.visitor_id, conversation_id=abandoned.id
            )
        )  # 12:02:30
    finally:
        await database.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = db_url(tmp_path)
    asyncio.run(_two_chats(url))
    return url


def test_the_reports_as_a_table_oldest_end_first(url: str) -> None:
    code, output = run(["report", "conversations", "--database-url", url])
    assert code == 0
    lines = output.splitlines()
    assert [re.split(r"\s{2,}", line) for line in lines] == [
        ["ENDED (UTC)", "QUEUE", "AGENT", "OUTCOME", "WAIT", "REPLY", "HANDLE", "MSGS", "WRAP-UP"],
        [
            "2026-01-01 12:01:00",
            "support",
            "Alice",
            "answered",
            "0s",
            "4s",
            "60s",
            "1/1",
            "resolved",
        ],
        ["2026-01-01 12:02:30", "sales", "-", "abandoned_in_queue", "-", "-", "-", "1/0", "-"],
    ]
    # Columns line up.
    assert lines[0].index("OUTCOME") == lines[1].index("answered") == lines[2].index("abandoned")


def test_filters_by_queue_agent_and_time(url: str) -> None:
    base = ["report", "conversations", "--database-url", url]
    assert _ended(run([*base, "--queue", "sales"])[1]) == ["2026-01-01 12:02:30"]
    assert _ended(run([*base, "--agent", "Alice@Example.com"])[1]) == ["2026-01-01 12:01:00"]
    assert _ended(run([*base, "--since", "2026-01-01T12:02"])[1]) == ["2026-01-01 12:02:30"]
    assert _ended(run([*base, "--until", "2026-01-01T14:02+02:00"])[1]) == ["2026-01-01 12:01:00"]
    assert run([*base, "--since", "2026-01-02"]) == (0, "no conversation reports match\n")


def test_csv_has_the_rest_columns(url: str) -> None:
    code, output = run(["report", "conversations", "--csv", "--database-url", url])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [(r["queue"], r["outcome"], r["wait_seconds"], r["wrap_up"]) for r in rows] == [
        ("support", "answered", "0.0", "resolved"),
        ("sales", "abandoned_in_queue", "", ""),
    ]


def test_an_unknown_agent_or_a_bad_time_is_refused(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(
        ["report", "conversations", "--agent", "nobody@example.com", "--database-url", url]
    )
    assert code == 2
    assert "no agent nobody@example.com" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        run(["report", "conversations", "--since", "yesterday", "--database-url", url])
    assert exit_info.value.code == 2
    assert "'yesterday' is no date or time" in capsys.readouterr().err


def _ended(output: str) -> list[str]:
    return [line[:19] for line in output.splitlines()[1:]]
