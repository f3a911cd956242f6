"""The CLI's part of bot-first queues: ``queue set --bot rules|off [--bot-config FILE]``
and ``queue bot QUEUE`` (the configuration in effect, as JSON to edit and set again).

The configuration is a file in the document form ``business.bot_config`` reads, as
JSON (``.json``) or TOML (anything else; a menu is then ``[[menu]]`` tables).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path
from typing import Any, TextIO

from business.bot_config import bot_config_to_json, read_bot_config
from business.bot_model import BotConfig, BotKind
from business.errors import InvalidInput, NotFound
from business.model import Queue, QueueName
from chat_engine.admin import list_queues
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

OFF = "off"


def add_set_arguments(set_: argparse.ArgumentParser) -> None:
    """``--bot`` and ``--bot-config`` of ``queue set``."""
    set_.add_argument(
        "--bot",
        choices=[*(kind.value for kind in BotKind), OFF],
        help="put a bot first in the queue: the built-in rules bot (its default "
        "configuration unless --bot-config is given), your own over webhooks and the REST "
        "API (external), or no bot (off)",
    )
    set_.add_argument(
        "--bot-config",
        metavar="FILE",
        type=Path,
        help="the bot's configuration, a JSON or TOML file: greeting, menu, faq, "
        "handover_keywords, handover_after_misses ... (see docs/integrator-guide.md)",
    )


def add_parsers(
    queue_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    show = queue_commands.add_parser(
        "bot",
        parents=[common],
        help="print a queue's bot configuration as JSON",
        description=(
            "Print the bot configuration of a queue, every setting written out, to edit "
            "and set again with: chat-engine queue set QUEUE --bot-config FILE"
        ),
    )
    show.add_argument("queue", metavar="QUEUE", help="the queue, e.g. support")
    add_tenant_option(show)


def given(args: argparse.Namespace) -> bool:
    return args.bot is not None or args.bot_config is not None


def bot_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ConfigureQueue`` fields ``--bot`` and ``--bot-config`` ask for."""
    if args.bot == OFF:
        if args.bot_config is not None:
            raise InvalidInput("--bot off takes no --bot-config")
        return {"remove_bot": True}
    if args.bot_config is not None:
        config = read_bot_config(load_document(args.bot_config))
        if args.bot is not None and args.bot != config.kind.value:
            raise InvalidInput(f"--bot {args.bot} but the configuration is of kind {config.kind}")
        return {"bot": config}
    if args.bot is not None:
        return {"bot": BotConfig(kind=BotKind(args.bot))}
    return {}


def load_document(path: Path) -> dict[str, Any]:
    """The file's document; unreadable or malformed files are ``InvalidInput``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the bot configuration {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(raw)
        else:
            document = tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the bot configuration {path} is not valid: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"the bot configuration {path} must be an object")
    return document


def describe(queue: Queue) -> str:
    """One line on what the queue's bot does."""
    bot = queue.bot
    if bot is None:
        return f"queue {queue.name}: no bot; chats start in the queue"
    menu = ", ".join(option.label for option in bot.menu) or "none"
    misses = (
        f"hands over after {bot.handover_after_misses} misses in a row"
        if bot.handover_after_misses
        else "never hands over for misses"
    )
    answers = len(bot.faq)
    return (
        f"queue {queue.name}: the {bot.kind} bot {bot.name} talks first (menu: {menu}; "
        f"{answers} keyword answer{'' if answers == 1 else 's'}; {misses})"
    )


async def queue_bot(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    name = QueueName(args.queue.strip())
    queue = next((q for q in await list_queues(settings, tenant_of(args)) if q.name == name), None)
    if queue is None:
        raise NotFound(f"unknown queue {name!r}")
    if queue.bot is None:
        raise NotFound(
            f"queue {name} has no bot; add one with: chat-engine queue set {name} --bot rules"
        )
    out.write(json.dumps(bot_config_to_json(queue.bot), indent=2, ensure_ascii=False) + "\n")
    return 0
