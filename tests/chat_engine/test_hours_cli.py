"""``chat-engine queue set --hours/--timezone/--closed-on`` and ``queue show`` against a
real SQLite file: what an administrator types and sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat_engine.test_cli import db_url, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def set_(url: str, *args: str) -> tuple[int, str]:
    return run(["queue", "set", "support", *args, "--database-url", url])


def test_hours_are_set_changed_in_part_shown_and_cleared(url: str) -> None:
    code, output = set_(
        url,
        *("--hours", "mon-fri 09:00-17:30; sat 10:00-14:00", "--timezone", "Europe/Berlin"),
        *("--closed-on", "2026-12-26,2026-12-25"),
    )
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == (
        "queue support: open mon 09:00-17:30; tue 09:00-17:30; wed 09:00-17:30; "
        "thu 09:00-17:30; fri 09:00-17:30; sat 10:00-14:00 (Europe/Berlin)"
    )
    assert lines[1] == "queue support: closed on 2026-12-25, 2026-12-26"
    assert lines[2].startswith(("queue support: open now", "queue support: closed now, opens "))

    # One flag alone keeps the rest of the hours.
    code, output = set_(url, "--closed-on", "")
    assert code == 0
    assert "queue support: closed on no dates" in output
    assert "sat 10:00-14:00 (Europe/Berlin)" in output
    code, output = set_(url, "--hours", "mon-sun 00:00-24:00", "--timezone", "UTC")
    assert code == 0

    code, shown = run(["queue", "show", "support", "--database-url", url])
    assert code == 0
    assert "queue support (Support): 0 waiting" in shown
    assert "queue support: open mon 00:00-24:00;" in shown
    assert "sun 00:00-24:00 (UTC)" in shown
    assert "queue support: open now" in shown

    code, output = set_(url, "--hours", "always")
    assert (code, output) == (0, "queue support: always open (no opening hours)\n")
    _, shown = run(["queue", "show", "support", "--database-url", url])
    assert "queue support: always open (no opening hours)" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hours", "mon-fri 09:00-17:30"), "give --timezone with --hours"),
        (("--closed-on", "2026-12-25"), "give --hours and --timezone"),
        (("--hours", "mon 09:00-17:00", "--timezone", "Mars/Olympus"), "unknown time zone"),
        (("--hours", "mon 22:00-06:00", "--timezone", "UTC"), "cannot cross midnight"),
        (("--hours", "mon 9-5", "--timezone", "UTC"), "is not a time like 09:00"),
        (("--hours", "always", "--timezone", "UTC"), "--hours always takes no --timezone"),
        (
            ("--closed-on", "25.12.2026", "--hours", "mon 09:00-10:00", "--timezone", "UTC"),
            "--closed-on",
        ),
    ],
)
def test_bad_hours_are_refused_with_a_message(
    url: str, args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = set_(url, *args)
    assert (code, output) == (2, "")
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    _, shown = run(["queue", "show", "support", "--database-url", url])
    assert "always open" in shown


def test_show_of_an_unknown_queue_fails(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["queue", "show", "nowhere", "--database-url", url])
    assert code == 2
    assert "unknown queue 'nowhere'" in capsys.readouterr().err
