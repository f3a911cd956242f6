"""``chat-engine tenant …`` and ``chat-engine apikey …`` against a real SQLite file, and
the key they print working against the REST API of an app over the same database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from chat_engine.bootstrap import bootstrap
from data import Database
from presentation import WebSettings, create_app
from tests.chat_engine.test_cli import db_url, run


@pytest.fixture
def url(tmp_path: Path) -> str:
    return db_url(tmp_path)


def table(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()]


def test_tenant_create_and_list(url: str) -> None:
    code, output = run(["tenant", "create", "Northwind Coffee", "--database-url", url])
    assert code == 0
    assert output.splitlines() == [
        "tenant northwind-coffee (Northwind Coffee) created with queue support",
        'its widget key: data-tenant="northwind-coffee"',
        "next, a key for its administrator: "
        "chat-engine apikey create --tenant northwind-coffee --scope admin",
    ]
    assert run(["tenant", "create", "Shop", "--id", "shop-2", "--database-url", url])[0] == 0
    code, listing = run(["tenant", "list", "--database-url", url])
    assert code == 0
    rows = table(listing)
    assert rows[0] == ["ID", "AUTO-TRANSCRIPT", "NAME", "CREATED"]
    assert [row[:2] for row in rows[1:]] == [
        ["default", "off"],
        ["northwind-coffee", "off"],
        ["shop-2", "off"],
    ]
    # Its queue, as the default tenant has one.
    code, queues = run(["queue", "list", "--database-url", url])
    assert code == 0
    assert "support" in queues


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tenant", "create", "Again", "--id", "default"], "exists already"),
        (["tenant", "create", "Bad", "--id", "Not_A_Slug"], "lower-case"),
        (["tenant", "create", "!!!"], "give one"),
    ],
)
def test_tenant_create_refusals(
    url: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run([*argv, "--database-url", url])
    assert code == 2
    assert message in capsys.readouterr().err


def test_apikey_create_prints_the_key_once_on_its_last_line(url: str) -> None:
    code, output = run(
        [
            *("apikey", "create", "--tenant", "default", "--scope", "admin", "--name", "crm"),
            *("--database-url", url),
        ]
    )
    assert code == 0
    lines = output.splitlines()
    key = lines[-1]
    key_id = key.split("_")[1]
    assert key.startswith(f"ce_{key_id}_")
    assert lines[0] == f"API key {key_id} (admin) for tenant default created."
    code, listing = run(["apikey", "list", "--database-url", url])
    assert code == 0
    assert key not in listing
    assert key.split("_", 2)[2] not in listing
    rows = table(listing)
    assert rows[0] == ["ID", "TENANT", "SCOPE", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
    assert rows[1][:4] == [key_id, "default", "admin", "crm"]
    assert rows[1][-2:] == ["-", "-"]


def test_platform_keys_belong_to_no_tenant(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(["apikey", "create", "--scope", "platform", "--database-url", url])
    assert code == 0
    assert "for the platform" in output
    code, _ = run(
        ["apikey", "create", "--scope", "platform", "--tenant", "default", "--database-url", url]
    )
    assert code == 2
    assert "no tenant" in capsys.readouterr().err
    code, _ = run(["apikey", "create", "--scope", "read", "--database-url", url])
    assert code == 2
    assert "needs a tenant" in capsys.readouterr().err
    code, _ = run(
        ["apikey", "create", "--scope", "read", "--tenant", "nope", "--database-url", url]
    )
    assert code == 2
    assert "unknown tenant" in capsys.readouterr().err


def test_apikey_list_by_tenant_and_revoke(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tenant", "create", "Other", "--database-url", url])[0] == 0
    mine = run(
        ["apikey", "create", "--tenant", "default", "--scope", "read", "--database-url", url]
    )
    theirs = run(["apikey", "create", "--tenant", "other", "--scope", "bot", "--database-url", url])
    mine_id = mine[1].splitlines()[-1].split("_")[1]
    theirs_id = theirs[1].splitlines()[-1].split("_")[1]
    _, listing = run(["apikey", "list", "--tenant", "other", "--database-url", url])
    assert [row[0] for row in table(listing)[1:]] == [theirs_id]
    _, listing = run(["apikey", "list", "--database-url", url])
    assert sorted(row[0] for row in table(listing)[1:]) == sorted([mine_id, theirs_id])

    code, output = run(["apikey", "revoke", mine_id, "--database-url", url])
    assert code == 0
    assert output == f"API key {mine_id} revoked\n"
    _, listing = run(["apikey", "list", "--tenant", "default", "--database-url", url])
    assert table(listing)[1][-1] != "-"  # the revocation time

    code, _ = run(["apikey", "revoke", "0000000000000000", "--database-url", url])
    assert code == 2
    assert "unknown API key" in capsys.readouterr().err
    code, _ = run(["apikey", "revoke", "ce_not-an-id", "--database-url", url])
    assert code == 2
    assert "16 hexadecimal" in capsys.readouterr().err
    code, _ = run(["apikey", "list", "--tenant", "nope", "--database-url", url])
    assert code == 2


async def test_a_key_from_the_cli_works_against_the_api_until_it_is_revoked(url: str) -> None:
    # The CLI runs its own event loop: in a thread of its own, as in a process of its own.
    code, output = await asyncio.to_thread(
        run, ["apikey", "create", "--tenant", "default", "--scope", "read", "--database-url", url]
    )
    assert code == 0
    key = output.splitlines()[-1]
    database = Database.from_url(url)
    runner: web.AppRunner | None = None
    try:
        await database.migrate()
        services = bootstrap(uow=database.unit_of_work)
        runner = web.AppRunner(create_app(services=services, settings=WebSettings()))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1"
        headers = {"Authorization": f"Bearer {key}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/queues", headers=headers) as response:
                assert response.status == 200
                assert [q["name"] for q in (await response.json())["items"]] == ["support"]
            # Revoked by another process (the CLI): this one stops accepting it once its
            # memory of the key has expired.
            services.api_keys._passed.clear()
            revoked = await asyncio.to_thread(
                run, ["apikey", "revoke", key.split("_")[1], "--database-url", url]
            )
            assert revoked[0] == 0
            async with http.get(f"{base}/queues", headers=headers) as response:
                assert response.status == 401
    finally:
        if runner is not None:
            await runner.cleanup()
        await database.dispose()
