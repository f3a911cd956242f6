"""``chat-engine canned …``: canned responses agents send by name (``!canned``)."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from business.commands import AddCannedResponse, RemoveCannedResponse
from business.errors import InvalidInput
from business.model import QueueName
from business.rich import Rich, parse_rich
from business.rich_fallback import fallback_text
from chat_engine.admin import add_canned, list_canned, remove_canned
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

_ALL = "(all)"
"""How a tenant-wide response's queue is shown."""


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    canned = commands.add_parser(
        "canned",
        parents=[common],
        help="manage canned responses",
        description=(
            "Canned responses are prepared answers agents send by name. Without --queue a "
            "response is for every queue; a queue's own response wins over one of the same "
            "name for every queue. {visitor}, {agent} and {queue} in the text are filled in "
            "when it is sent."
        ),
    )
    canned_commands = canned.add_subparsers(dest="canned_command", required=True, metavar="COMMAND")
    add = canned_commands.add_parser(
        "add", parents=[common], help="add a canned response, or replace its text"
    )
    _tenant_and_queue(add, "the queue whose agents use it (default: every queue)")
    add.add_argument("name", metavar="NAME", help="a lower-case word, e.g. greeting")
    add.add_argument("text", metavar="TEXT", help="e.g. 'Hello {visitor}, I am {agent}.'")
    add.add_argument(
        "--rich-file",
        metavar="FILE",
        help="a JSON file with rich content to send under the text: quick replies, buttons, "
        "a card, a carousel or a list picker (see the integrator guide)",
    )
    listing = canned_commands.add_parser("list", parents=[common], help="list canned responses")
    _tenant_and_queue(listing, "what this queue's agents get (default: every response)")
    remove = canned_commands.add_parser("remove", parents=[common], help="remove a canned response")
    _tenant_and_queue(remove, "the queue it belongs to (default: the one for every queue)")
    remove.add_argument("name", metavar="NAME")


def _tenant_and_queue(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--queue", metavar="QUEUE", help=help_text)
    add_tenant_option(parser)


def _rich_file(path: str) -> Rich:
    """The rich content in JSON file ``path``; ``InvalidInput`` naming what is wrong."""
    try:
        with open(path, encoding="utf-8") as file:
            value = json.load(file)
    except OSError as exc:
        raise InvalidInput(f"--rich-file: cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise InvalidInput(f"--rich-file: {path} is not JSON: {exc}") from exc
    return parse_rich(value)


def _queue(args: argparse.Namespace) -> QueueName | None:
    return None if args.queue is None else QueueName(args.queue.strip())


async def canned_add(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    response = await add_canned(
        settings,
        AddCannedResponse(
            tenant_id=tenant_of(args),
            queue=_queue(args),
            name=args.name,
            text=args.text,
            rich=None if args.rich_file is None else _rich_file(args.rich_file),
        ),
    )
    out.write(f"canned response {response.name} ({_where(response.queue)}): {response.text}\n")
    if response.rich is not None:
        out.write(fallback_text(response.rich) + "\n")
    return 0


async def canned_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    responses = await list_canned(settings, tenant_of(args), _queue(args))
    if not responses:
        out.write("no canned responses yet; add one with: chat-engine canned add NAME TEXT\n")
        return 0
    rows = [("QUEUE", "NAME", "TEXT")] + [
        (r.queue or _ALL, r.name, " ".join(r.text.split())) for r in responses
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for queue, name, text in rows:
        out.write(f"{queue.ljust(widths[0])}  {name.ljust(widths[1])}  {text}".rstrip() + "\n")
    return 0


async def canned_remove(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    queue = _queue(args)
    await remove_canned(
        settings, RemoveCannedResponse(tenant_id=tenant_of(args), queue=queue, name=args.name)
    )
    out.write(f"canned response {args.name} ({_where(queue)}) removed\n")
    return 0


def _where(queue: QueueName | None) -> str:
    return "every queue" if queue is None else f"queue {queue}"
