"""``chat-engine thread open`` against a real SQLite file: a thread to a signed ``sub``
nobody had signed in as, what the visitor then finds, the refusals, and its audit
entry."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from business.model import DEFAULT_TENANT, ConversationState, VisitorId
from business.threads import ThreadSummary
from chat_engine.bootstrap import bootstrap
from data import Database
from tests.chat_engine.test_cli import db_url, run

SECRET = "an HS256 secret of at least thirty-two bytes"


def _threads(url: str, visitor: str) -> list[ThreadSummary]:
    async def read() -> list[ThreadSummary]:
        database = Database.from_url(url)
        try:
            services = bootstrap(uow=database.unit_of_work)
            return list(await services.threads.threads(VisitorId(visitor)))
        finally:
            await database.dispose()

    return asyncio.run(read())


def _setup(url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    for argv in (
        ["agent", "add", "alice@example.com", "--queue", "support", "--max-chats", "2"],
        ["queue", "set", "support", "--mode", "messaging"],
        [
            *("tenant", "identity", "default", "--mode", "optional"),
            *("--audience", "https://shop.example", "--hs256-secret-file", str(secret)),
        ],
    ):
        code, output = run([*argv, "--database-url", url])
        assert code == 0, output


def test_thread_open_to_an_identity_and_to_a_visitor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    _setup(url, tmp_path)
    base = ["thread", "open", "default", "--queue", "support", "--agent", "alice@example.com"]

    code, output = run(
        [*base, "--identity", "customer-42", "Your card is on its way", "--database-url", url]
    )

    assert code == 0, output
    found = re.fullmatch(
        r"thread (\S+) opened to visitor (\S+) in queue support, on hold until they answer\n",
        output,
    )
    assert found is not None, output
    (listed,) = _threads(url, found[2])
    assert (listed.id, listed.unread, listed.state) == (found[1], 1, ConversationState.ON_HOLD)
    assert listed.preview == "Your card is on its way"

    # By id, the same visitor gets a second thread.
    code, output = run([*base, "--visitor", found[2], "One more thing", "--database-url", url])
    assert code == 0, output
    assert len(_threads(url, found[2])) == 2

    code, output = run(["audit", "list", "--database-url", url])
    opens = [line.split() for line in output.splitlines() if "thread.open" in line]
    assert len(opens) == 2
    assert "customer-42" not in output  # option names only, never the values
    assert "card" not in output
    assert all(DEFAULT_TENANT in line for line in opens)


def test_thread_open_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = db_url(tmp_path)
    _setup(url, tmp_path)
    base = ["thread", "open", "default", "--agent", "alice@example.com", "--database-url", url]

    code, _ = run([*base, "--queue", "support", "--visitor", "0" * 32, "Hello"])
    assert code == 2
    assert "no visitor has the id" in capsys.readouterr().err
    code, _ = run([*base, "--queue", "sales", "--identity", "customer-42", "Hello"])
    assert code == 2
    assert "no queue is called sales" in capsys.readouterr().err
    code, _ = run([*base, "--queue", "support", "--identity", "x" * 256, "Hello"])
    assert code == 2
    assert "sub must be 1 to 255 characters" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        run([*base, "--queue", "support", "Hello"])
    assert refused.value.code == 2
    assert "one of the arguments --visitor --identity is required" in capsys.readouterr().err
    code, output = run(["audit", "list", "--database-url", url])
    assert "thread.open" not in output
