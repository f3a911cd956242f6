"""Every command line command that changes something writes exactly one audit entry
naming it, and every read writes none: each command is run against a real SQLite file
and the log compared before and after.

The commands come from the parser itself: one added later without a case here fails
``test_every_command_is_in_the_matrix``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from chat_engine.cli import build_parser
from chat_engine.cli_audit import audited_action
from tests.chat_engine.test_cli import db_url, run
from tests.chat_engine.test_governance_cli import _visitor

SERVING: Final = frozenset({"run", "dev", "cluster"})
"""They serve until stopped: not administrators' actions, and not run here."""

READ_ONLY: Final = frozenset(
    {
        "agent list",
        "queue list",
        "queue show",
        "queue bot",
        "canned list",
        "report conversations",
        "report triggers",
        "report page-views",
        "tenant list",
        "apikey list",
        "widget show",
        "audit list",
    }
)
"""Commands that never change anything, whatever their options."""

CASES: Final[tuple[tuple[str, tuple[str, ...], str | None], ...]] = (
    # (command, its arguments, the action of the one entry it writes or None), in order.
    ("db upgrade", (), "db.upgrade"),
    ("agent add", ("carol@example.com", "--queue", "support", "--max-chats", "2"), "agent.add"),
    ("agent list", (), None),
    ("queue list", (), None),
    ("queue set", ("support", "--offer-timeout", "30", "--bot", "rules"), "queue.set"),
    ("queue show", ("support",), None),
    ("queue bot", ("support",), None),
    ("canned add", ("hello", "Hello there!"), "canned.add"),
    ("canned list", (), None),
    ("canned remove", ("hello",), "canned.remove"),
    ("report conversations", (), None),
    ("report triggers", (), None),
    ("report page-views", (), None),
    ("tenant create", ("Second shop", "--id", "second"), "tenant.create"),
    ("tenant list", (), None),
    ("tenant set", ("default",), None),
    ("tenant set", ("default", "--transcript-auto-send", "on"), "tenant.set"),
    ("tenant identity", ("default",), None),
    ("tenant identity", ("default", "--audience", "https://shop.example"), "tenant.identity"),
    ("tenant identity", ("default", "--map-extra", "plan=plan"), "tenant.identity"),
    ("tenant identity", ("default", "--clear-extra-map"), "tenant.identity"),
    ("tenant files", ("default",), None),
    ("tenant files", ("default", "--retention-days", "0"), "tenant.files"),
    ("tenant redaction", ("default",), None),
    ("tenant redaction", ("default", "--emails", "on"), "tenant.redaction"),
    ("tenant retention", ("default",), None),
    ("tenant retention", ("default", "--visitors-days", "30"), "tenant.retention"),
    ("apikey create", ("--scope", "read", "--tenant", "default"), "apikey.create"),
    ("apikey list", (), None),
    ("apikey revoke", ("{key_id}",), "apikey.revoke"),
    ("widget show", (), None),
    ("widget set", ("--title", "Hi there"), "widget.set"),
    ("files purge", ("--dry-run",), None),
    ("files purge", (), "files.purge"),
    ("retention purge", ("--dry-run",), None),
    ("retention purge", (), "retention.purge"),
    ("visitor export", ("default", "{visitor_id}", "--out", "{out}"), "visitor.export"),
    ("visitor erase", ("default", "{visitor_id}", "--yes"), "visitor.erase"),
    ("queue set", ("support", "--mode", "messaging"), "queue.set"),
    ("agent add", ("dora@example.com", "--queue", "support", "--max-chats", "2"), "agent.add"),
    (
        "thread open",
        (
            *("default", "--queue", "support", "--agent", "dora@example.com"),
            *("--visitor", "{visitor_id}", "Your order shipped"),
        ),
        "thread.open",
    ),
    ("agent remove", ("carol@example.com",), "agent.remove"),
    ("audit list", (), None),
)


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[str]:
    """The parser's commands, each as typed ("tenant retention")."""
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        yield prefix
        return
    for name, sub in subparsers[0].choices.items():
        yield from _commands(sub, f"{prefix} {name}".strip())


def test_every_command_is_in_the_matrix() -> None:
    commands = set(_commands(build_parser()))
    covered = {command for command, _, _ in CASES}
    assert commands - SERVING - covered == set(), "add a case for these commands"
    changing = {command for command, _, action in CASES if action is not None}
    assert not changing & READ_ONLY
    assert commands - SERVING - READ_ONLY <= changing, "a changing case, or call it read-only"
    for command in SERVING:
        assert audited_action(build_parser().parse_args([command])) is None


def _actions(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT action FROM audit_log ORDER BY id")]


def test_each_change_writes_one_entry_and_a_read_none(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    files = tmp_path / "files"
    env = {"CHAT_ENGINE_FILES_DIR": str(files)}
    assert run(["db", "upgrade", "--database-url", url], env)[0] == 0
    values = {"visitor_id": asyncio.run(_visitor(url, files)), "out": str(tmp_path / "export")}
    database = tmp_path / "engine.db"
    wrong = []
    for command, arguments, action in CASES:
        before = _actions(database)
        argv = [*command.split(), *(a.format(**values) for a in arguments), "--database-url", url]
        code, output = run(argv, env)
        assert code == 0, (argv, output)
        new = _actions(database)[len(before) :]
        if new != ([] if action is None else [action]):
            wrong.append((" ".join(argv[:-2]), new))
        if found := re.search(r"API key (\S+) ", output):
            values["key_id"] = found.group(1)
    assert wrong == []
