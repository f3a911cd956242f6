"""The ``chat-engine`` command against a real SQLite file: what an operator types and sees."""

from __future__ import annotations

import asyncio
import io
import stat
from pathlib import Path

import pytest

from business.errors import Unavailable
from business.model import AgentId
from chat_engine import cli, directory_cli
from chat_engine.cli import main
from chat_engine.local_ports import free_port
from data import Database
from tests.harness import make_world


def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, env=env or {}, out=out)
    return code, out.getvalue()


def test_agent_add_then_list(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(
        [
            *("agent", "add", "Alice@Example.com", "--queue", "support", "--queue", "sales"),
            *("--max-chats", "2", "--name", "Alice", "--database-url", url),
        ]
    )
    assert code == 0
    assert "alice@example.com (Alice): queues support, sales, up to 2 chats" in output
    assert (
        run(
            [
                *("agent", "add", "bob@example.com", "--queue", "support"),
                *("--max-chats", "1", "--database-url", url),
            ]
        )[0]
        == 0
    )

    code, listing = run(["--database-url", url, "agent", "list"])
    assert code == 0
    lines = listing.splitlines()
    assert lines[0].split() == [
        *("JID", "NAME", "MAX", "CHATS", "QUEUES", "READY", "ROLE", "SUPERVISES", "SKILLS")
    ]
    assert lines[1].split() == [
        *("alice@example.com", "Alice", "2", "support,sales", "no", "agent", "-", "-")
    ]
    assert lines[2].split() == ["bob@example.com", "bob", "1", "support", "no", "agent", "-", "-"]


def test_agent_add_again_updates(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    base = ["agent", "add", "carol@example.com", "--database-url", url]
    assert run([*base, "--queue", "support", "--max-chats", "2"])[0] == 0
    assert run([*base, "--queue", "vip", "--max-chats", "5"])[0] == 0

    _, listing = run(["agent", "list", "--database-url", url])
    assert listing.splitlines()[1].split()[:5] == ["carol@example.com", "carol", "5", "vip", "no"]


def test_an_address_is_stored_as_xmpp_servers_write_it(tmp_path: Path) -> None:
    """Fullwidth letters and capitals: the server stamps the normalised form on every
    stanza, so that is the form stored (and shown)."""
    url = db_url(tmp_path)
    base = ["agent", "add", "--queue", "support", "--max-chats", "2", "--database-url", url]
    code, output = run([*base[:2], "\uff41lice@LocalHost", *base[2:]])
    assert code == 0
    assert output.startswith("agent alice@localhost ")
    assert run([*base[:2], "ALICE@localhost", *base[2:]])[0] == 0
    _, listing = run(["agent", "list", "--database-url", url])
    assert [line.split()[0] for line in listing.splitlines()[1:]] == ["alice@localhost"]


def test_empty_list_says_how_to_add(tmp_path: Path) -> None:
    code, output = run(["agent", "list", "--database-url", db_url(tmp_path)])
    assert code == 0
    assert "chat-engine agent add JID --queue Q --max-chats N" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-jid", "--queue", "support", "--max-chats", "2"], "is not a bare XMPP address"),
        (["a@example.com", "--queue", "Bad Queue", "--max-chats", "2"], "queue name 'Bad Queue'"),
        (["a@example.com", "--queue", "support", "--max-chats", "0"], "max_chats must be between"),
    ],
)
def test_bad_agent_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _ = run(["agent", "add", *args, "--database-url", db_url(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "chat-engine: error: " in err
    assert message in err
    assert "Traceback" not in err
    _, listing = run(["agent", "list", "--database-url", db_url(tmp_path)])
    assert "@" not in listing  # nothing was stored


def test_db_upgrade_creates_the_database_readable_by_its_owner_only(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sub' / 'dir' / 'engine.db'}"
    code, output = run(["db", "upgrade", "--database-url", url])
    assert code == 0
    assert "database is up to date" in output
    database = tmp_path / "sub" / "dir" / "engine.db"
    assert database.is_file()
    # It holds visitors' conversations; SQLite alone would make it 0644.
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert run(["db", "upgrade", "--database-url", url])[0] == 0  # idempotent


def test_a_database_an_older_version_left_readable_by_everybody_is_narrowed(
    tmp_path: Path,
) -> None:
    url = db_url(tmp_path)
    assert run(["db", "upgrade", "--database-url", url])[0] == 0
    database = tmp_path / "engine.db"
    database.chmod(0o644)
    assert run(["agent", "list", "--database-url", url])[0] == 0
    assert stat.S_IMODE(database.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["run", "--port", "abc"],
            {},
            "http.port: expected an integer, got 'abc' (from command line)",
        ),
        (["run"], {"CHAT_ENGINE_XMPP_PORT": "x"}, "xmpp.port: expected an integer"),
        (["run"], {"CHAT_ENGINE_HTTPP_PORT": "1"}, "CHAT_ENGINE_HTTPP_PORT: unknown setting"),
        (["run"], {}, "xmpp.secret: required"),
        (["run", "--port", "99999"], {}, "http.port: must be between 0 and 65535, not 99999"),
        (
            ["run"],
            {"CHAT_ENGINE_XMPP_SECRET": "too-short"},
            "xmpp.secret: must be at least 32 characters long; make one with "
            "`openssl rand -hex 32` (from CHAT_ENGINE_XMPP_SECRET)",
        ),
        (["--config", "/nonexistent.toml", "agent", "list"], {}, "config file /nonexistent.toml"),
        (["agent", "list"], {"CHAT_ENGINE_CONFIG": "/nonexistent.toml"}, "config file"),
        (["db", "upgrade", "--database-url", "mysql://x/y"], {}, "database.url: expected"),
        (["agent", "list", "--log-level", "chatty"], {}, "log.level: expected one of"),
    ],
)
def test_bad_settings_fail_at_start_naming_the_key(
    capsys: pytest.CaptureFixture[str], argv: list[str], env: dict[str, str], message: str
) -> None:
    code, _ = run(argv, env)
    err = capsys.readouterr().err
    assert code == 2
    assert f"chat-engine: error: {message}" in err
    assert "Traceback" not in err


def test_an_old_setting_name_works_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"CHAT_ENGINE_SOCKETIO_REDIS_URL": "redis://127.0.0.1:6379/0"}
    code, _ = run(["agent", "list", "--database-url", db_url(tmp_path)], env)
    assert code == 0
    assert (
        "WARNING chat_engine.cli: settings: CHAT_ENGINE_SOCKETIO_REDIS_URL is now called "
        "CHAT_ENGINE_HTTP_REDIS_URL; the old name still works" in capsys.readouterr().err
    )


def test_unreachable_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "engine.db").mkdir()
    code, _ = run(["agent", "list", "--database-url", db_url(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"chat-engine: error: database sqlite+aiosqlite:///{tmp_path}")
    assert "Traceback" not in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["agent", "add", "a@example.com", "--max-chats", "2"], env={})
    assert raised.value.code == 2
    assert "--queue" in capsys.readouterr().err


def test_admin_commands_do_not_need_the_component_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As in the systemd unit's `systemd-run ... agent add` example: the config names a
    # secret file this user cannot read, and only `run` needs that secret.
    config = tmp_path / "config.toml"
    config.write_text(
        f'[xmpp]\nsecret_file = "{tmp_path / "unreadable"}"\n'
        f'[database]\nurl = "{db_url(tmp_path)}"\n'
    )
    add = ["agent", "add", "a@example.com", "--queue", "support", "--max-chats", "2"]
    code, _ = run(["--config", str(config), *add])
    assert code == 0, capsys.readouterr().err
    assert run(["--config", str(config), "db", "upgrade"])[0] == 0
    assert "a@example.com" in run(["--config", str(config), "agent", "list"])[1]
    # `run` still needs it, and says which file it could not read.
    code, _ = run(["--config", str(config), "run"])
    assert code == 2
    assert "xmpp.secret: cannot read" in capsys.readouterr().err


def test_refused_database_connection_names_the_database(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql+asyncpg://chat:hunter2@127.0.0.1:{free_port()}/chat"
    code, _ = run(["agent", "list", "--database-url", url])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("chat-engine: error: database postgresql+asyncpg://chat:***@127.0.0.1")
    assert "hunter2" not in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),  # asyncpg's connect timeout: str() is empty
        Unavailable("the database is unavailable; retry in a moment"),
    ],
)
def test_database_down_is_a_failure_not_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    # Neither can be produced on demand here (a connect timeout takes 60 s; Unavailable
    # needs the database to drop between the migration and the unit of work).
    async def fail(settings: object, tenant_id: object) -> None:
        raise error

    monkeypatch.setattr(directory_cli, "list_agents", fail)
    code, _ = run(["agent", "list", "--database-url", db_url(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"chat-engine: error: database sqlite+aiosqlite:///{tmp_path}")
    assert err.rstrip().split(": ")[-1] != ""


def test_queue_limits_are_set_listed_and_reset(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(["queue", "set", "support", "--max-waiting", "40", "--database-url", url])
    assert code == 0
    assert output == "queue support: at most 40 waiting; 0 waiting now\n"
    _, listing = run(["queue", "list", "--database-url", url])
    assert listing.splitlines()[0].split()[:4] == ["QUEUE", "WAITING", "MAX", "WAITING"]
    assert listing.splitlines()[1].split() == [
        "support",
        "0",
        "40",
        "20s",
        "-",
        "-",
        "86400s",
        "live",
        "120s",
    ]

    code, output = run(["queue", "set", "support", "--default-max-waiting", "--database-url", url])
    assert code == 0
    assert "at most 1000 (the default) waiting" in output
    _, listing = run(["queue", "list", "--database-url", url])
    assert listing.splitlines()[1].split()[:4] == ["support", "0", "1000", "(default)"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--max-waiting", "5"], "unknown queue 'nowhere'"),
        (["support", "--max-waiting", "0"], "at least 1"),
    ],
)
def test_a_bad_queue_limit_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _ = run(["queue", "set", *args, "--database-url", db_url(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    _, listing = run(["queue", "list", "--database-url", db_url(tmp_path)])
    assert listing.splitlines()[1].split()[:4] == ["support", "0", "1000", "(default)"]


async def test_agent_add_leaves_routing_to_the_running_engine(tmp_path: Path) -> None:
    """The CLI has no XMPP link: a chat it assigned would never be offered, and the
    visitor would wait for an agent who never heard of them."""
    url = db_url(tmp_path)
    database = Database.from_url(url)
    await database.migrate()
    try:
        engine = await make_world(uow=database.unit_of_work)
        alice = await engine.agent(AgentId("alice@example.com"), max_chats=1)
        assert (await engine.start(await engine.visitor())).agent_id == alice
        waiting = await engine.start(await engine.visitor())
        assert waiting.agent_id is None

        code, _ = await asyncio.to_thread(
            run,
            [
                *("agent", "add", "alice@example.com", "--queue", "support"),
                *("--max-chats", "3", "--database-url", url),
            ],
        )
        assert code == 0
        after = await engine.conversations.get_conversation(waiting.id)
        assert after.agent_id is None, "the CLI assigned a chat it cannot offer"
        assert (await engine.agents.get_agent(alice)).max_chats == 3  # type: ignore[union-attr]
    finally:
        await database.dispose()


def test_the_engine_runs_on_uvloop_unless_told_not_to() -> None:
    uvloop = pytest.importorskip("uvloop")
    assert cli.event_loop_factory(True) is uvloop.new_event_loop
    assert cli.event_loop_factory(False) is None
