"""``chat-engine tenant set TENANT --transcript-auto-send on|off`` against a real SQLite
file: stored, shown by ``tenant list``, and what a running engine's services read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from business.model import DEFAULT_TENANT
from data import Database
from tests.chat_engine.test_access_cli import table
from tests.chat_engine.test_cli import db_url, run


async def stored_flag(url: str) -> bool:
    database = Database.from_url(url)
    try:
        async with database.unit_of_work() as uow:
            tenant = await uow.tenants.get(DEFAULT_TENANT)
    finally:
        await database.dispose()
    assert tenant is not None
    return tenant.transcript_auto_send


def test_the_setting_is_stored_and_listed(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    mail_on = {
        "CHAT_ENGINE_MAIL_HOST": "smtp.example.org",
        "CHAT_ENGINE_MAIL_FROM_ADDRESS": "noreply@example.org",
    }

    code, output = run(
        ["tenant", "set", "default", "--transcript-auto-send", "on", "--database-url", url],
        env=mail_on,
    )

    assert code == 0
    assert output == "tenant default (Default): transcripts e-mailed when a chat ends: on\n"
    assert asyncio.run(stored_flag(url))
    code, listing = run(["tenant", "list", "--database-url", url])
    assert table(listing)[1][:2] == ["default", "on"]

    # Nothing given: nothing changes.
    assert run(["tenant", "set", "default", "--database-url", url], env=mail_on)[1].endswith(
        ": on\n"
    )
    code, output = run(
        ["tenant", "set", "default", "--transcript-auto-send", "off", "--database-url", url]
    )
    assert code == 0
    assert output.endswith(": off\n")
    assert not asyncio.run(stored_flag(url))


def test_turning_it_on_without_mail_says_none_will_be_sent(tmp_path: Path) -> None:
    code, output = run(
        [
            *("tenant", "set", "default", "--transcript-auto-send", "on"),
            *("--database-url", db_url(tmp_path)),
        ]
    )
    assert code == 0
    assert output.splitlines()[1].startswith("note: mail is off in this configuration")


def test_an_unknown_tenant_or_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = db_url(tmp_path)
    code, _ = run(
        ["tenant", "set", "nobody", "--transcript-auto-send", "on", "--database-url", url]
    )
    assert code == 2
    assert "unknown tenant 'nobody'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        run(["tenant", "set", "default", "--transcript-auto-send", "yes", "--database-url", url])
    assert refused.value.code == 2
    assert "invalid choice: 'yes'" in capsys.readouterr().err
