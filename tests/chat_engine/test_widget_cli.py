"""``chat-engine widget show|set`` against a real SQLite file: what an administrator
types and sees."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from business.model import DEFAULT_TENANT
from chat_engine.admin import put_widget_config, widget_config
from chat_engine.cli import build_parser, settings_from_args
from chat_engine.demo_widget import ensure_demo_widget
from tests.chat_engine.test_cli import db_url, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def test_show_prints_the_default_as_json(url: str) -> None:
    code, output = run(["widget", "show", "--database-url", url])
    assert code == 0
    shown = json.loads(output)
    assert shown["active"] is True
    assert shown["mode"] == "floating"
    assert shown["triggers"] == []


def test_set_changes_what_is_given_and_keeps_the_rest(url: str) -> None:
    code, output = run(
        [
            *("widget", "set", "--mode", "embedded", "--embed-selector", "#help-chat"),
            *("--accent", "#AA3300", "--title", "Ask Northwind", "--database-url", url),
        ]
    )
    assert code == 0, output
    assert (
        output == "widget of tenant default: active, embedded in #help-chat, 0 items, 0 triggers\n"
    )
    code, output = run(["widget", "set", "--active", "off", "--database-url", url])
    assert output == (
        "widget of tenant default: in maintenance (shows nothing), embedded in #help-chat, "
        "0 items, 0 triggers\n"
    )
    shown = json.loads(run(["widget", "show", "--database-url", url])[1])
    assert shown["active"] is False
    assert shown["theme"] == {"accent": "#aa3300", "accent_text": "#ffffff"}
    assert shown["texts"] == {"title": "Ask Northwind"}


def test_set_from_a_file_replaces_it_and_show_round_trips(url: str, tmp_path: Path) -> None:
    document = {
        "items": [{"id": "invite", "type": "invitation", "text": "Need help?"}],
        "triggers": [
            {
                "id": "slow",
                "conditions": {"field": "time_on_page", "op": "at_least", "value": 20},
                "action": {"type": "show", "item": "invite"},
            }
        ],
    }
    path = tmp_path / "widget.json"
    path.write_text(json.dumps(document))
    code, output = run(["widget", "set", "--file", str(path), "--database-url", url])
    assert code == 0, output
    assert output == "widget of tenant default: active, floating, 1 items, 1 triggers\n"
    shown = run(["widget", "show", "--database-url", url])[1]
    path.write_text(shown)
    assert run(["widget", "set", "--file", str(path), "--database-url", url])[0] == 0
    assert run(["widget", "show", "--database-url", url])[1] == shown


def test_a_bad_value_or_tenant_is_a_usage_error(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(["widget", "set", "--accent", "red", "--database-url", url])
    assert code == 2
    assert "theme.accent: a colour like #3b5bdb" in capsys.readouterr().err
    code, _ = run(["widget", "set", "--language", "klingon", "--database-url", url])
    assert code == 2
    assert (
        "language: 'klingon' is not a language the widget has; one of auto, en, de, fr, es, ar"
        in capsys.readouterr().err
    )
    code, _ = run(["widget", "set", "--language", "ar", "--database-url", url])
    assert code == 0
    assert json.loads(run(["widget", "show", "--database-url", url])[1])["language"] == "ar"
    path = tmp_path / "bad.json"
    path.write_text('{"triggers": [{"id": "t", "action": {"type": "show", "item": "x"}}]}')
    code, _ = run(["widget", "set", "--file", str(path), "--database-url", url])
    assert code == 2
    assert "triggers[0].action.item: no item 'x'" in capsys.readouterr().err
    code, _ = run(["widget", "show", "--tenant", "nobody", "--database-url", url])
    assert code == 2
    assert "unknown tenant 'nobody'" in capsys.readouterr().err
    # Nothing was stored by the refused changes.
    assert json.loads(run(["widget", "show", "--database-url", url])[1])["theme"]["accent"] == (
        "#3b5bdb"
    )


async def test_the_demo_gets_an_invitation_unless_the_tenant_has_its_own(url: str) -> None:
    settings = settings_from_args(
        build_parser().parse_args(["widget", "show", "--database-url", url]), {}
    )
    assert await ensure_demo_widget(settings) is True
    triggers: Any = (await widget_config(settings, DEFAULT_TENANT)).document["triggers"]
    assert [t["id"] for t in triggers] == ["product-page"]
    await put_widget_config(settings, DEFAULT_TENANT, {"active": False})
    assert await ensure_demo_widget(settings) is False
    assert (await widget_config(settings, DEFAULT_TENANT)).document["active"] is False
