"""``chat-engine queue set --bot …`` and ``queue bot`` against a real SQLite file: what
an administrator types and sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from business.bot_config import bot_config_to_json
from business.bot_model import BotConfig
from tests.chat_engine.test_cli import db_url, run

TOML = """
name = "Ava"
greeting = "Hi, I'm Ava."
handover_after_misses = 3

[[menu]]
id = "hours"
label = "Opening hours"
answer = "We are open 9-17."

[[menu]]
id = "person"
label = "Talk to a person"
handover = true

[[faq]]
keywords = ["refund", "money back"]
answer = "Refunds take five days."
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def test_a_bot_from_a_toml_file_is_set_shown_and_switched_off(url: str, tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(TOML)

    code, output = run(
        ["queue", "set", "support", "--bot-config", str(config), "--database-url", url]
    )

    assert code == 0
    assert output == (
        "queue support: the rules bot Ava talks first (menu: Opening hours, Talk to a person; "
        "1 keyword answer; hands over after 3 misses in a row)\n"
    )
    code, shown = run(["queue", "bot", "support", "--database-url", url])
    assert code == 0
    document = json.loads(shown)
    assert document["name"] == "Ava"
    assert [o["label"] for o in document["menu"]] == ["Opening hours", "Talk to a person"]
    assert document["faq"] == [
        {"keywords": ["refund", "money back"], "answer": "Refunds take five days."}
    ]
    # What it shows can be edited and set again, as JSON.
    document["name"] = "Max"
    edited = tmp_path / "bot.json"
    edited.write_text(json.dumps(document))
    assert (
        run(["queue", "set", "support", "--bot-config", str(edited), "--database-url", url])[0] == 0
    )
    assert json.loads(run(["queue", "bot", "support", "--database-url", url])[1])["name"] == "Max"

    code, output = run(["queue", "set", "support", "--bot", "off", "--database-url", url])
    assert (code, output) == (0, "queue support: no bot; chats start in the queue\n")


def test_bot_rules_alone_puts_the_default_bot_in(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run(["queue", "set", "support", "--bot", "rules", "--database-url", url])

    assert code == 0
    assert (
        "the rules bot Assistant talks first (menu: Talk to a person; 0 keyword answers" in output
    )
    shown = json.loads(run(["queue", "bot", "support", "--database-url", url])[1])
    assert shown == bot_config_to_json(BotConfig())


@pytest.mark.parametrize(
    ("content", "suffix", "args", "message"),
    [
        ('{"menu": [{"id": "x", "label": "X"}]}', ".json", [], "the answer of menu option 1"),
        ('{"greting": "hi"}', ".json", [], "unknown bot setting 'greting'"),
        ("{not json", ".json", [], "is not valid"),
        ("name = ", ".toml", [], "is not valid"),
        ("[1, 2]", ".json", [], "must be an object"),
        ("{}", ".json", ["--bot", "off"], "--bot off takes no --bot-config"),
    ],
)
def test_bad_bot_configurations_are_usage_errors_and_change_nothing(
    url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    suffix: str,
    args: list[str],
    message: str,
) -> None:
    config = tmp_path / f"bot{suffix}"
    config.write_text(content)

    code, output = run(
        ["queue", "set", "support", "--bot-config", str(config), *args, "--database-url", url]
    )

    assert (code, output) == (2, "")
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    code, _ = run(["queue", "bot", "support", "--database-url", url])
    assert code == 2
    assert "queue support has no bot; add one with: chat-engine queue set support --bot rules" in (
        capsys.readouterr().err
    )


def test_a_missing_file_says_so(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    code, _ = run(["queue", "set", "support", "--bot-config", str(missing), "--database-url", url])
    assert code == 2
    assert f"cannot read the bot configuration {missing}: No such file or directory" in (
        capsys.readouterr().err
    )


def test_rich_answers_from_a_toml_file_are_set_and_shown(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        TOML
        + """
[[greeting_rich.quick_replies]]
label = "When are you open?"
payload = "hours"

[[greeting_rich.quick_replies]]
label = "A person, please"
payload = "person"
"""
    )
    code, _ = run(["queue", "set", "support", "--bot-config", str(config), "--database-url", url])
    assert code == 0
    document = json.loads(run(["queue", "bot", "support", "--database-url", url])[1])
    assert document["greeting_rich"] == {
        "quick_replies": [
            {"label": "When are you open?", "payload": "hours"},
            {"label": "A person, please", "payload": "person"},
        ]
    }

    config.write_text(TOML + '\n[greeting_rich]\nbuttons = [{label = "Go", url = "http://x"}]\n')
    code, output = run(
        ["queue", "set", "support", "--bot-config", str(config), "--database-url", url]
    )
    assert (code, output) == (2, "")
    assert "greeting_rich.buttons[0].url must be an https:// address" in capsys.readouterr().err
