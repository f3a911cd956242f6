"""``chat-engine agent …`` and ``chat-engine queue …``: the agent and queue directory."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TextIO

from business.commands import AddAgent
from business.model import DEFAULT_TENANT, QueueName
from chat_engine.admin import add_agents, list_agents, list_queues, set_queue_limit
from chat_engine.settings import Settings

_EMPTY_AGENTS = "no agents yet; add one with: chat-engine agent add JID --queue Q --max-chats N\n"


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    agent = commands.add_parser("agent", parents=[common], help="manage agents")
    agent_commands = agent.add_subparsers(dest="agent_command", required=True, metavar="COMMAND")
    add = agent_commands.add_parser(
        "add",
        parents=[common],
        help="add an agent, or update one",
        description="Add an agent (their bare JID) to queues; running it again updates them.",
    )
    add.add_argument("jid", metavar="JID", help="the agent's bare JID, e.g. alice@example.com")
    add.add_argument(
        "--queue",
        dest="queues",
        action="append",
        required=True,
        metavar="QUEUE",
        help="a queue the agent serves (repeat for several)",
    )
    add.add_argument(
        "--max-chats", type=int, required=True, metavar="N", help="chats at the same time"
    )
    add.add_argument("--name", help="the name visitors see (default: the JID's user part)")
    agent_commands.add_parser("list", parents=[common], help="list agents")

    queue = commands.add_parser("queue", parents=[common], help="manage queues")
    queue_commands = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    queue_commands.add_parser(
        "list", parents=[common], help="list queues with their waiting conversations"
    )
    set_ = queue_commands.add_parser(
        "set",
        parents=[common],
        help="change a queue's settings",
        description=(
            "Change a queue's settings. --max-waiting caps how many conversations may wait "
            "in it; visitors beyond that are told the queue is full (queue_full)."
        ),
    )
    set_.add_argument("queue", metavar="QUEUE", help="the queue, e.g. support")
    limit = set_.add_mutually_exclusive_group(required=True)
    limit.add_argument("--max-waiting", type=int, metavar="N", help="at most N waiting")
    limit.add_argument(
        "--default-max-waiting",
        action="store_true",
        help="use the engine's limits.max_queue_waiting again",
    )


async def agent_add(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    (agent,) = await add_agents(
        settings,
        [
            AddAgent(
                address=args.jid.strip(),
                queues=tuple(QueueName(q.strip()) for q in args.queues),
                max_chats=args.max_chats,
                tenant_id=DEFAULT_TENANT,
                name=args.name,
            )
        ],
    )
    out.write(
        f"agent {agent.address} ({agent.name}): queues {', '.join(agent.queues)}, "
        f"up to {agent.max_chats} chats\n"
    )
    return 0


async def agent_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    agents = sorted(await list_agents(settings), key=lambda a: a.address)
    if not agents:
        out.write(_EMPTY_AGENTS)
        return 0
    _table(
        out,
        [("JID", "NAME", "MAX CHATS", "QUEUES", "READY")]
        + [
            (a.address, a.name, str(a.max_chats), ",".join(a.queues), "yes" if a.ready else "no")
            for a in agents
        ],
    )
    return 0


async def queue_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    default = settings.limits.max_queue_waiting
    _table(
        out,
        [("QUEUE", "WAITING", "MAX WAITING")]
        + [
            (
                q.name,
                str(q.waiting),
                str(q.max_waiting) if q.max_waiting is not None else f"{default} (default)",
            )
            for q in await list_queues(settings)
        ],
    )
    return 0


async def queue_set(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    max_waiting = None if args.default_max_waiting else args.max_waiting
    queue = await set_queue_limit(settings, QueueName(args.queue.strip()), max_waiting)
    limit = (
        f"{queue.max_waiting}"
        if queue.max_waiting is not None
        else f"{settings.limits.max_queue_waiting} (the default)"
    )
    out.write(f"queue {queue.name}: at most {limit} waiting; {queue.waiting} waiting now\n")
    return 0


def _table(out: TextIO, rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")
