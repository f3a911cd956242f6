"""``chat-engine queue set --visitor-idle-alert ...`` against a real SQLite file: the
inactivity rules in minutes (hours for messaging), stored in seconds, refused clearly."""

from __future__ import annotations

from pathlib import Path

from tests.chat_engine.test_cli import db_url, run


def test_queue_set_stores_the_inactivity_rules(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(
        [
            *("queue", "set", "support", "--visitor-idle-alert", "5"),
            *("--visitor-idle-close", "3", "--agent-reply-reminder", "2"),
            *("--agent-reply-reroute", "--messaging-idle-hours", "48", "--database-url", url),
        ]
    )
    assert code == 0, output
    assert output.splitlines() == [
        "queue support: silent visitor alerted after 5 min, chat closed 3 min later",
        "queue support: agent reminded of an unanswered visitor after 2 min, then re-routed",
        "queue support: messaging visit over after 48 h without messages",
    ]
    # Stored: a later change of one rule keeps the others.
    code, output = run(
        ["queue", "set", "support", "--no-agent-reply-reroute", "--database-url", url]
    )
    assert code == 0
    assert "after 2 min\n" in output
    assert "alerted after 5 min, chat closed 3 min later" in output


def test_queue_set_refuses_inconsistent_inactivity_rules(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, _ = run(["queue", "set", "support", "--visitor-idle-close", "3", "--database-url", url])
    assert code != 0
    code, _ = run(["queue", "set", "support", "--visitor-idle-alert", "-1", "--database-url", url])
    assert code != 0
    code, _ = run(
        ["queue", "set", "support", "--agent-reply-reminder", "20000", "--database-url", url]
    )
    assert code != 0
