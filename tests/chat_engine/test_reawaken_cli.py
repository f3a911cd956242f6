"""``chat-engine queue set --reawaken-window`` and what ``queue show``/``queue list``
print of it, against a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat_engine.test_cli import db_url, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def listed(url: str) -> dict[str, str]:
    """The ``queue list`` row of queue support, by column (the last two columns)."""
    _, output = run(["queue", "list", "--database-url", url])
    header, row = (line.split() for line in output.splitlines())
    assert header[-2:] == ["MODE", "REAWAKEN"]
    return {"MODE": row[-2], "REAWAKEN": row[-1]}


def test_the_window_is_set_shown_listed_and_turned_off(url: str) -> None:
    assert listed(url) == {"MODE": "live", "REAWAKEN": "120s"}  # the default

    code, output = run(
        ["queue", "set", "support", "--reawaken-window", "600", "--database-url", url]
    )
    assert code == 0
    assert output == (
        "queue support: a held chat the visitor answers goes back to its agent if they can "
        "take it, else waits in the queue for them alone for 600 s\n"
    )
    _, shown = run(["queue", "show", "support", "--database-url", url])
    assert "offers time out after 20 s; live mode\n" in shown
    assert "waits in the queue for them alone for 600 s\n" in shown

    run(["queue", "set", "support", "--mode", "messaging", "--database-url", url])
    code, output = run(["queue", "set", "support", "--reawaken-window", "0", "--database-url", url])
    assert code == 0
    assert "else to any agent (its agent preferred)" in output
    assert listed(url) == {"MODE": "messaging", "REAWAKEN": "off"}


@pytest.mark.parametrize("seconds", ["-1", "604801"])
def test_a_bad_window_is_a_usage_error_and_changes_nothing(
    url: str, capsys: pytest.CaptureFixture[str], seconds: str
) -> None:
    code, _ = run(["queue", "set", "support", "--reawaken-window", seconds, "--database-url", url])
    assert code == 2
    assert (
        f"the reawaken window must be 0 (off) to 604800 seconds, not {seconds}"
        in capsys.readouterr().err
    )
    assert listed(url)["REAWAKEN"] == "120s"
