"""``chat-engine tenant redaction`` against a real SQLite file: what an administrator
types and sees, and that it is what later commands (and the engine) read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chat_engine.test_cli import db_url, run

DEFAULTS = (
    "redaction of tenant default:\n"
    "cards: on\n"
    "ibans: on\n"
    "emails: off\n"
    "phones: off (region: none)\n"
    "no patterns\n"
)


def test_redaction_is_shown_changed_and_kept(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    assert run(["tenant", "redaction", "default", "--database-url", url]) == (0, DEFAULTS)

    code, output = run(
        [
            *("tenant", "redaction", "default", "--cards", "off", "--emails", "on"),
            *("--phones", "on", "--phone-region", "de"),
            *("--pattern", r"order=ORD-\d{6}", "--pattern", "ticket=T#[0-9]+"),
            *("--database-url", url),
        ]
    )
    assert code == 0, output
    changed = (
        "redaction of tenant default:\n"
        "cards: off\n"
        "ibans: on\n"
        "emails: on\n"
        "phones: on (region: DE)\n"
        "pattern order: ORD-\\d{6}\n"
        "pattern ticket: T#[0-9]+\n"
    )
    assert output == changed
    assert run(["tenant", "redaction", "default", "--database-url", url]) == (0, changed)

    code, output = run(
        [
            *("tenant", "redaction", "default", "--remove-pattern", "order"),
            *("--phone-region", "none", "--cards", "on", "--database-url", url),
        ]
    )
    assert code == 0, output
    assert output.splitlines()[1:] == [
        "cards: on",
        "ibans: on",
        "emails: on",
        "phones: on (region: none)",
        "pattern ticket: T#[0-9]+",
    ]


def test_bad_input_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    for args, words in [
        (["--pattern", "order"], "write NAME=REGEX"),
        (["--pattern", "order=(["], "is no regular expression"),
        (["--pattern", "Order=x"], "lower-case letters"),
        (["--pattern", "any=.*"], "matches the empty text"),
        (["--phone-region", "Germany"], "two-letter"),
        (["--remove-pattern", "ghost"], "no pattern 'ghost'"),
    ]:
        code, _ = run(["tenant", "redaction", "default", *args, "--database-url", url])
        error = capsys.readouterr().err
        assert code != 0, args
        assert words in error, (args, error)
    code, _ = run(["tenant", "redaction", "nobody", "--database-url", url])
    assert code != 0
    assert "unknown tenant" in capsys.readouterr().err
    assert run(["tenant", "redaction", "default", "--database-url", url]) == (0, DEFAULTS)
