"""What ``dev`` keeps between runs and how it picks ports (the processes themselves are
tested in test_commands.py)."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from chat_engine.dev import (
    DemoAgent,
    _plan,
    banner,
    pick_port,
    read_or_create_demo_agents,
    read_or_create_secret,
    xmpp_domain,
)
from chat_engine.local_ports import free_port
from chat_engine.settings import load_settings


def test_secret_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "xmpp-secret"
    first = read_or_create_secret(path)
    assert len(first) >= 32
    assert path.stat().st_mode & 0o077 == 0
    assert read_or_create_secret(path) == first

    # An older version's secret, too short for today's rule, is replaced.
    path.write_text("short\n")
    assert len(read_or_create_secret(path)) >= 32


def test_demo_agents_keep_their_passwords(tmp_path: Path) -> None:
    path = tmp_path / "demo-agents.json"
    first = read_or_create_demo_agents(path, "localhost")
    assert [a.jid for a in first] == ["agent1@localhost", "agent2@localhost"]
    assert len({a.password for a in first}) == 2
    assert path.stat().st_mode & 0o077 == 0

    assert read_or_create_demo_agents(path, "localhost") == first
    # Another domain gets its own accounts; the old passwords stay on file.
    other = read_or_create_demo_agents(path, "example.test")
    assert [a.jid for a in other] == ["agent1@example.test", "agent2@example.test"]
    assert read_or_create_demo_agents(path, "localhost") == first

    path.write_text("not json")  # a damaged file is replaced, not a crash
    assert len(read_or_create_demo_agents(path, "localhost")) == 2
    assert "agent1@localhost" in json.loads(path.read_text())["passwords"]


def test_a_taken_port_is_replaced_and_reported() -> None:
    notes: list[str] = []
    free = free_port()
    assert pick_port("127.0.0.1", free, "HTTP", notes) == free
    assert notes == []

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        other = pick_port("127.0.0.1", port, "XMPP client", notes)
    assert other != port
    assert notes == [f"XMPP client port {port} is in use on 127.0.0.1; using {other} instead."]


def test_agents_domain_from_the_component() -> None:
    assert xmpp_domain("chat.localhost") == "localhost"
    assert xmpp_domain("chat.example.com") == "example.com"
    assert xmpp_domain("chat") == "localhost"


def test_a_second_run_keeps_the_ports_it_picked(tmp_path: Path) -> None:
    # Agents' clients are set up with the XMPP port of the first run: when the usual
    # ports are taken (a system Prosody on 5222, say), the next run must come back on
    # the same substitutes, not on new random ones.
    settings = load_settings(env={}, cwd=tmp_path)
    with (
        socket.create_server((settings.xmpp.host, 0)) as c2s,
        socket.create_server((settings.xmpp.host, 0)) as component,
        socket.create_server((settings.http.host, 0)) as http,
    ):
        settings = load_settings(
            env={},
            overrides={"xmpp.port": component.getsockname()[1], "http.port": http.getsockname()[1]},
            cwd=tmp_path,
        )
        c2s_port = c2s.getsockname()[1]
        first = _plan(settings, tmp_path / "var", c2s_port)
        second = _plan(settings, tmp_path / "var", c2s_port)
    ports = (first.prosody.c2s_port, first.prosody.component_port, first.settings.http.port)
    assert c2s_port not in ports
    assert (second.prosody.c2s_port, second.prosody.component_port) == ports[:2]
    assert second.settings.http.port == ports[2]
    assert second.notes == first.notes


def test_var_dir_holds_the_default_database_but_not_a_configured_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    plan = _plan(load_settings(env={}), elsewhere, free_port())
    assert plan.settings.database.url == f"sqlite+aiosqlite:///{elsewhere / 'chat-engine.db'}"

    configured = f"sqlite+aiosqlite:///{tmp_path / 'mine.db'}"
    plan = _plan(load_settings(env={}, overrides={"database.url": configured}), elsewhere, 0)
    assert plan.settings.database.url == configured


def test_dev_lets_webhooks_reach_this_machine_and_run_does_not(tmp_path: Path) -> None:
    settings = load_settings(env={}, overrides={"webhooks.timeout": 3})
    assert not settings.webhooks.allow_private_targets  # what `chat-engine run` gets
    plan = _plan(settings, tmp_path / "var", free_port())
    assert plan.settings.webhooks.allow_private_targets
    assert plan.settings.webhooks.timeout == 3  # the rest as configured


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_dev_keeps_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    var = tmp_path / "var"
    plan = _plan(load_settings(env={}), var, free_port())

    assert mode(var) == 0o700
    for name in ("xmpp-secret", "demo-agents.json", "ports.json"):
        assert mode(var / name) == 0o600, name
    assert plan.settings.database.url.endswith(f"{var}/chat-engine.db")


def test_files_an_older_version_left_readable_are_narrowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    for name in ("chat-engine.db", "chat-engine.db-wal", "ports.json", "demo-agents.json"):
        (var / name).write_text("{}")
        (var / name).chmod(0o644)

    _plan(load_settings(env={}), var, free_port())

    for name in ("chat-engine.db", "chat-engine.db-wal", "ports.json", "demo-agents.json"):
        assert mode(var / name) == 0o600, name
    # A directory the user chose is theirs; what is in it is private either way.
    assert mode(var) == 0o755


def test_the_banner_shows_the_websocket_url_for_browser_clients(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)
    websocket_port = free_port()
    plan = _plan(settings, tmp_path / "var", free_port(), websocket_port)

    text = banner(
        "http://127.0.0.1:8080",
        [DemoAgent(jid="agent1@localhost", password="pw")],
        plan.prosody,
        plan.notes,
        widget_built=True,
    )

    assert plan.prosody.websocket_port == websocket_port
    assert f"  WebSocket:    ws://127.0.0.1:{websocket_port}/xmpp-websocket" in text
    # Kept for the next run, like the other ports.
    ports = json.loads((tmp_path / "var" / "ports.json").read_text())
    assert ports["websocket"] == websocket_port
