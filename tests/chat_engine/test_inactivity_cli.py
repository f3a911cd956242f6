"""``chat-engine queue set --visitor-idle-alert ...`` against a real SQLite file: the
inactivity rules in minutes (hours for messaging), stored in seconds, refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

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
        "queue support: alert text built-in (in the tenant's language)",
        "queue support: closing text built-in (in the tenant's language)",
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


def test_queue_set_stores_own_texts_shown_by_queue_show_and_resets_them(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(
        [
            *("queue", "set", "support", "--visitor-idle-alert-text", "Still there?"),
            *("--visitor-idle-close-text", "Bye for now.", "--database-url", url),
        ]
    )
    assert code == 0, output
    assert "queue support: alert text 'Still there?'\n" in output
    code, output = run(["queue", "show", "support", "--database-url", url])
    assert code == 0, output
    assert "queue support: alert text 'Still there?'\n" in output
    assert "queue support: closing text 'Bye for now.'\n" in output
    # '' goes back to the built-in text; the other stays.
    code, output = run(
        ["queue", "set", "support", "--visitor-idle-alert-text", "", "--database-url", url]
    )
    assert code == 0, output
    code, output = run(["queue", "show", "support", "--database-url", url])
    assert "queue support: alert text built-in (in the tenant's language)\n" in output
    assert "queue support: closing text 'Bye for now.'\n" in output


def test_queue_set_refuses_a_blank_or_overlong_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    code, _ = run(
        ["queue", "set", "support", "--visitor-idle-close-text", "  ", "--database-url", url]
    )
    assert code != 0
    assert "visitor_idle_close_text must not be blank" in capsys.readouterr().err
    code, _ = run(
        ["queue", "set", "support", "--visitor-idle-alert-text", "x" * 1001, "--database-url", url]
    )
    assert code != 0
    assert "at most 1000 characters, not 1001" in capsys.readouterr().err
