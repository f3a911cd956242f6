"""The ``chat-engine`` command.

Expected failures (a bad setting, a bad argument, Prosody or the database unreachable)
print one clear line and exit non-zero (2 for bad input, 1 otherwise), never a traceback:
the traceback is for bugs, and goes to the log.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import SQLAlchemyError

from business.errors import DomainError, Unavailable
from chat_engine import (
    apikey_cli,
    canned_cli,
    directory_cli,
    files_cli,
    governance_cli,
    report_cli,
    tenant_cli,
    thread_cli,
    widget_cli,
)
from chat_engine.admin import record_admin_action, upgrade_database
from chat_engine.cli_audit import audited_action
from chat_engine.cli_commands import Handler, admin_handler
from chat_engine.logging import configure_logging
from chat_engine.prosody import ProsodyError
from chat_engine.settings import (
    CONFIG_ENV,
    LOG_LEVELS,
    Settings,
    SettingsError,
    load_settings,
    require_secret,
)
from chat_engine.signals import StopSignal
from data.settings import redact_url

logger = logging.getLogger(__name__)

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _global_options() -> argparse.ArgumentParser:
    # SUPPRESS: an option left out adds no attribute, so the same options may be given
    # before or after the subcommand without the later parser resetting the earlier one.
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (override the config file and environment)")
    group.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=f"TOML config file (default: ${CONFIG_ENV}, else built-in defaults)",
    )
    group.add_argument("--host", default=argparse.SUPPRESS, help="HTTP listen address")
    group.add_argument("--port", default=argparse.SUPPRESS, help="HTTP port (0: any free port)")
    group.add_argument(
        "--database-url", metavar="URL", default=argparse.SUPPRESS, help="SQLAlchemy URL"
    )
    group.add_argument(
        "--log-level",
        metavar="LEVEL",
        default=argparse.SUPPRESS,
        help=f"one of {', '.join(LOG_LEVELS)}",
    )
    group.add_argument(
        "--log-json",
        action="store_const",
        const=True,
        default=argparse.SUPPRESS,
        help="log one JSON object per line",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="chat-engine",
        description="Customer-service chat: visitors on the web, agents in any XMPP client.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        parents=[common],
        help="run the engine against a configured XMPP server",
        description="Run the engine: web server for visitors and XMPP component for agents.",
    )

    dev = commands.add_parser(
        "dev",
        parents=[common],
        help="run everything locally: a private Prosody, demo agents, SQLite",
        description=(
            "Start a private Prosody, create two demo agents in queue 'support' and run the "
            "engine against it, all kept under --var-dir. Ctrl-C stops everything."
        ),
    )
    dev.add_argument(
        "--var-dir",
        type=Path,
        default=Path("var"),
        metavar="DIR",
        help="where the generated files live (default: ./var)",
    )
    dev.add_argument(
        "--c2s-port",
        type=int,
        default=5222,
        metavar="PORT",
        help="Prosody's port for agents' clients (default: 5222, or a free one if taken)",
    )
    dev.add_argument(
        "--websocket-port",
        type=int,
        default=5280,
        metavar="PORT",
        help="Prosody's XMPP-over-WebSocket port for browser clients such as Converse.js "
        "(default: 5280, or a free one if taken)",
    )

    cluster = commands.add_parser(
        "cluster",
        parents=[common],
        help="run the scale-out set-up locally: HAProxy, engine processes, ejabberd, "
        "PostgreSQL, Redis",
        description=(
            "Start a private PostgreSQL, Redis and ejabberd, several engine processes on "
            "them and HAProxy in front (on --port), with two demo agents in queue "
            "'support', all kept under --var-dir. Ctrl-C stops everything."
        ),
    )
    cluster.add_argument(
        "--var-dir",
        type=Path,
        default=Path("var/cluster"),
        metavar="DIR",
        help="where the generated files live (default: ./var/cluster)",
    )
    cluster.add_argument(
        "--engines",
        type=int,
        default=3,
        metavar="N",
        help="how many engine processes (default: 3)",
    )

    db = commands.add_parser("db", parents=[common], help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser(
        "upgrade", parents=[common], help="create or migrate the schema to the latest version"
    )

    directory_cli.add_parsers(commands, common)
    canned_cli.add_parsers(commands, common)
    report_cli.add_parsers(commands, common)
    tenant_cli.add_parsers(commands, common)
    apikey_cli.add_parsers(commands, common)
    widget_cli.add_parsers(commands, common)
    files_cli.add_parsers(commands, common)
    governance_cli.add_parsers(commands, common)
    thread_cli.add_parsers(commands, common)
    return parser


_FLAG_KEYS = {
    "host": "http.host",
    "port": "http.port",
    "database_url": "database.url",
    "log_level": "log.level",
    "log_json": "log.json",
}


def settings_from_args(
    args: argparse.Namespace, env: Mapping[str, str], cwd: Path | None = None
) -> Settings:
    config = getattr(args, "config", None) or env.get(CONFIG_ENV) or None
    overrides = {key: getattr(args, flag, None) for flag, key in _FLAG_KEYS.items()}
    # The admin commands only touch the database: under DynamicUser (see the systemd
    # unit) the component secret's file is not readable to them, nor need it be.
    unused = () if _needs_xmpp(args) else ("xmpp.secret", "http.redis_url")
    return load_settings(
        Path(config) if config else None, env, overrides, cwd=cwd, unused_secrets=unused
    )


def _needs_xmpp(args: argparse.Namespace) -> bool:
    return getattr(args, "command", None) in ("run", "dev")


# -- commands ------------------------------------------------------------------------


# ``run`` and ``dev`` import the engine (web server, XMPP bridge) only when called, which
# keeps the one-shot admin commands quick to start.


async def _run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from chat_engine.engine import Engine
    from chat_engine.gc_tuning import tune_gc

    require_secret(settings)
    with StopSignal() as stop:
        engine = Engine(settings)
        await engine.start()
        tune_gc(freeze=settings.runtime.gc_freeze, threshold=settings.runtime.gc_threshold)
        try:
            out.write(f"chat-engine running at {engine.url} (Ctrl-C to stop)\n")
            out.flush()
            await stop.wait()
            # SIGTERM is how service managers stop (systemd, Kubernetes, docker stop):
            # the visitors here get the drain. Ctrl-C stops at once, as a person expects.
            if stop.received is signal.SIGTERM:
                await engine.drain(cut_short=stop.again)
        finally:
            await engine.stop()
    return 0


async def _dev(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from chat_engine.dev import run_dev

    with StopSignal() as stop:
        await run_dev(
            settings,
            var_dir=args.var_dir,
            c2s_port=args.c2s_port,
            websocket_port=args.websocket_port,
            out=out,
            stop=stop,
        )
    out.write("Stopped.\n")
    return 0


async def _cluster(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from chat_engine.cluster_cli import CLUSTER_ERRORS, run_cluster

    if args.engines < 1:
        return _error("--engines: at least 1", EXIT_USAGE)
    config = getattr(args, "config", None) or os.environ.get(CONFIG_ENV)
    try:
        with StopSignal() as stop:
            await run_cluster(
                settings,
                var_dir=args.var_dir,
                engines=args.engines,
                out=out,
                stop=stop,
                config_file=Path(config) if config else None,
            )
    except CLUSTER_ERRORS as exc:
        return _error(str(exc), EXIT_FAILURE)
    out.write("Stopped.\n")
    return 0


async def _db_upgrade(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    await upgrade_database(settings)
    out.write(f"database is up to date: {redact_url(settings.database.url)}\n")
    return 0


def _handler(args: argparse.Namespace) -> Handler:
    match args.command:
        case "run":
            return _run
        case "dev":
            return _dev
        case "cluster":
            return _cluster
        case "db":
            return _db_upgrade
    return admin_handler(args)


async def _settled(command: Coroutine[Any, Any, int]) -> int:
    try:
        return await command
    except Exception:
        # aiosqlite 0.22 queues a stop for its worker thread when a database cannot be
        # opened and returns at once; if the loop closed before that thread answers, it
        # raises "Event loop is closed" in the thread. A moment lets it finish.
        await asyncio.sleep(0.1)
        raise


async def _audited(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run the command; once one that changes something succeeded, log it
    (``chat_engine.cli_audit``)."""
    code = await _handler(args)(args, settings, out)
    done = audited_action(args)
    if code == 0 and done is not None:
        await record_admin_action(
            settings,
            actor=governance_cli.cli_actor(),
            action=done.action,
            tenant_id=done.tenant_id,
            target=done.target,
            detail={"options": list(done.options)} if done.options else {},
        )
    return code


def _error(message: str, code: int) -> int:
    print(f"chat-engine: error: {message}", file=sys.stderr)
    return code


def event_loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory when wanted and installed; None means asyncio's own."""
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Entry point; returns the exit code (``env`` and ``out`` are for tests)."""
    args = build_parser().parse_args(argv)
    env = os.environ if env is None else env
    out = sys.stdout if out is None else out
    try:
        settings = settings_from_args(args, env)
    except SettingsError as exc:
        return _error(str(exc), EXIT_USAGE)
    configure_logging(settings.log.level, json_lines=settings.log.json)
    for note in settings.notes:
        logger.warning("settings: %s", note)
    database = f"database {redact_url(settings.database.url)}"
    try:
        with asyncio.Runner(loop_factory=event_loop_factory(settings.runtime.uvloop)) as runner:
            return runner.run(_settled(_audited(args, settings, out)))
    except Unavailable as exc:
        # Not bad input: the database went away; running the command again may work.
        cause = f" ({_detail(exc.__cause__)})" if exc.__cause__ is not None else ""
        return _error(f"{database}: {exc}{cause}", EXIT_FAILURE)
    except (SettingsError, DomainError) as exc:
        return _error(str(exc), EXIT_USAGE)
    except ProsodyError as exc:
        return _error(f"Prosody: {exc}", EXIT_FAILURE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if isinstance(exc, SQLAlchemyError):
            return _error(f"{database}: {exc}", EXIT_FAILURE)
        if isinstance(exc, OSError):
            # The admin commands talk to nothing but the database; a refused or timed
            # out connection (asyncpg raises plain OSError / TimeoutError) must say so.
            prefix = "" if _needs_xmpp(args) else f"{database}: "
            return _error(prefix + _detail(exc), EXIT_FAILURE)
        raise


def _detail(exc: BaseException) -> str:
    """The message of ``exc``, or its kind when it has none (``TimeoutError()``)."""
    text = str(exc)
    if isinstance(exc, TimeoutError) and not text:
        return "timed out"
    return text or type(exc).__name__
