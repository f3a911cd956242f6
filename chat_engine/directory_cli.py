"""``chat-engine agent …`` and ``chat-engine queue …``: the agent and queue directory."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from business.commands import AddAgent, ConfigureQueue
from business.errors import InvalidInput
from business.model import AgentRole, Queue, QueueMode, QueueName
from chat_engine import bot_cli, hours_cli, inactivity_cli, reawaken_cli
from chat_engine.admin import add_agents, configure_queue, list_agents, list_queues, remove_agent
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

_EMPTY_AGENTS = "no agents yet; add one with: chat-engine agent add JID --queue Q --max-chats N\n"
_QUEUE_SETTINGS = (
    "max_waiting",
    "default_max_waiting",
    "offer_timeout",
    "wrap_up_codes",
    "require_wrap_up",
    "skills",
    "last_agent_window",
    "mode",
)
_NONE = "-"
_LEVEL_RE = re.compile(r"-?[0-9]+")


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
        description=(
            "Add an agent (their bare JID) to queues; running it again updates them "
            "(--role, --supervises and --skills left out stay as they were)."
        ),
    )
    add.add_argument("jid", metavar="JID", help="the agent's bare JID, e.g. alice@example.com")
    add_tenant_option(add)
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
    add.add_argument(
        "--role",
        choices=[role.value for role in AgentRole],
        help="agent (default) or supervisor (may also monitor the queues they supervise)",
    )
    add.add_argument(
        "--supervises",
        metavar="QUEUES",
        help="comma-separated queues a supervisor supervises, e.g. support,sales",
    )
    add.add_argument(
        "--skills",
        metavar="SKILLS",
        help="comma-separated skills with levels 1-10, e.g. billing:3,french (level 1)",
    )
    add.add_argument(
        "--auto-accept",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="take offered chats at once, without replying or !accept (default: no)",
    )
    add_tenant_option(agent_commands.add_parser("list", parents=[common], help="list agents"))
    remove = agent_commands.add_parser(
        "remove",
        parents=[common],
        help="remove an agent",
        description=(
            "Remove an agent from the directory; refused while they have a chat open (end "
            "or transfer it first). Their ended chats keep their name."
        ),
    )
    remove.add_argument("jid", metavar="JID", help="the agent's bare JID")
    add_tenant_option(remove)

    queue = commands.add_parser("queue", parents=[common], help="manage queues")
    queue_commands = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    add_tenant_option(
        queue_commands.add_parser("list", parents=[common], help="list queues with their settings")
    )
    set_ = queue_commands.add_parser(
        "set",
        parents=[common],
        help="change a queue's settings",
        description=(
            "Change a queue's settings; those not given stay as they are (give at least "
            "one). --max-waiting caps how many conversations may wait in it; visitors "
            "beyond that are told the queue is full (queue_full)."
        ),
    )
    set_.add_argument("queue", metavar="QUEUE", help="the queue, e.g. support")
    add_tenant_option(set_)
    limit = set_.add_mutually_exclusive_group()
    limit.add_argument("--max-waiting", type=int, metavar="N", help="at most N waiting")
    limit.add_argument(
        "--default-max-waiting",
        action="store_true",
        default=None,
        help="use the engine's limits.max_queue_waiting again",
    )
    set_.add_argument(
        "--offer-timeout",
        type=int,
        metavar="SECONDS",
        help="how long an agent has to take an offered chat (1-600, default 20)",
    )
    set_.add_argument(
        "--wrap-up-codes",
        metavar="CODES",
        help="comma-separated codes to end a chat with, e.g. resolved,callback,spam "
        "('' removes them)",
    )
    set_.add_argument(
        "--require-wrap-up",
        action=argparse.BooleanOptionalAction,
        help="whether ending a chat needs one of the wrap-up codes",
    )
    set_.add_argument(
        "--skills",
        metavar="SKILLS",
        help="skills an agent needs for this queue's chats, with minimum levels, e.g. "
        "billing,french:2 ('' removes them)",
    )
    set_.add_argument(
        "--last-agent-window",
        type=int,
        metavar="SECONDS",
        help="prefer the agent who last served a visitor for this long (0: never; default 86400)",
    )
    set_.add_argument(
        "--mode",
        choices=[mode.value for mode in QueueMode],
        help="live chat (the default), or messaging threads that stay open until an agent "
        "closes them",
    )
    reawaken_cli.add_set_arguments(set_)
    bot_cli.add_set_arguments(set_)
    bot_cli.add_parsers(queue_commands, common)
    hours_cli.add_set_arguments(set_)
    inactivity_cli.add_set_arguments(set_)
    hours_cli.add_parsers(queue_commands, common)


# -- parsing --------------------------------------------------------------------------


def parse_list(text: str) -> tuple[str, ...]:
    """``a, b,c`` -> ("a", "b", "c"); empty items are dropped, so '' is the empty list."""
    return tuple(item for item in (part.strip() for part in text.split(",")) if item)


def parse_skills(text: str) -> dict[str, int]:
    """``billing:3,french`` -> {"billing": 3, "french": 1}. Names and levels are checked
    by the business layer; this refuses only what is no NAME or NAME:LEVEL list."""
    skills: dict[str, int] = {}
    for item in parse_list(text):
        name, colon, level = (part.strip() for part in item.partition(":"))
        if not name or (colon and not _LEVEL_RE.fullmatch(level)):
            raise InvalidInput(f"skill {item!r} is not NAME or NAME:LEVEL (a whole number)")
        if name in skills:
            raise InvalidInput(f"skill {name!r} is given twice")
        skills[name] = int(level) if colon else 1
    return skills


def format_skills(skills: Mapping[str, int]) -> str:
    return ",".join(f"{name}:{level}" for name, level in skills.items()) or _NONE


# -- agents ---------------------------------------------------------------------------


async def agent_add(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    command = AddAgent(
        address=args.jid.strip(),
        queues=tuple(QueueName(q.strip()) for q in args.queues),
        max_chats=args.max_chats,
        tenant_id=tenant_of(args),
        name=args.name,
        role=None if args.role is None else AgentRole(args.role),
        supervises=(
            None
            if args.supervises is None
            else tuple(QueueName(q) for q in parse_list(args.supervises))
        ),
        skills=None if args.skills is None else parse_skills(args.skills),
        auto_accept=args.auto_accept,
    )
    (agent,) = await add_agents(settings, [command])
    extra = ""
    if agent.role is AgentRole.SUPERVISOR:
        supervised = ", ".join(agent.supervises) or "no queues yet"
        extra += f"; supervisor of {supervised}"
    if agent.skills:
        extra += f"; skills {format_skills(agent.skills)}"
    if agent.auto_accept:
        extra += "; takes offers at once"
    out.write(
        f"agent {agent.address} ({agent.name}): queues {', '.join(agent.queues)}, "
        f"up to {agent.max_chats} chats{extra}\n"
    )
    return 0


async def agent_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    agents = sorted(await list_agents(settings, tenant_of(args)), key=lambda a: a.address)
    if not agents:
        out.write(_EMPTY_AGENTS)
        return 0
    table(
        out,
        [("JID", "NAME", "MAX CHATS", "QUEUES", "READY", "ROLE", "SUPERVISES", "SKILLS")]
        + [
            (
                a.address,
                a.name,
                str(a.max_chats),
                ",".join(a.queues),
                "yes" if a.ready else "no",
                a.role.value,
                ",".join(a.supervises) or _NONE,
                format_skills(a.skills),
            )
            for a in agents
        ],
    )
    return 0


async def agent_remove(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    agent = await remove_agent(settings, tenant_of(args), args.jid.strip())
    out.write(f"agent {agent.address} ({agent.name}) removed from tenant {agent.tenant_id}\n")
    return 0


# -- queues ---------------------------------------------------------------------------


async def queue_list(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    default = settings.limits.max_queue_waiting
    table(
        out,
        [
            (
                "QUEUE",
                "WAITING",
                "MAX WAITING",
                "OFFER TIMEOUT",
                "WRAP-UP CODES",
                "SKILLS",
                "LAST AGENT",
                "MODE",
                "REAWAKEN",
            )
        ]
        + [
            (
                q.name,
                str(q.waiting),
                str(q.max_waiting) if q.max_waiting is not None else f"{default} (default)",
                f"{q.offer_timeout}s",
                _wrap_up(q),
                format_skills(q.skills),
                _last_agent(q),
                q.mode.value,
                reawaken_cli.cell(q),
            )
            for q in await list_queues(settings, tenant_of(args))
        ],
    )
    return 0


async def queue_set(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    if (
        all(getattr(args, name) is None for name in _QUEUE_SETTINGS)
        and not bot_cli.given(args)
        and not hours_cli.given(args)
        and not reawaken_cli.given(args)
        and not inactivity_cli.given(args)
    ):
        raise InvalidInput(
            "queue set needs at least one setting: --max-waiting, --default-max-waiting, "
            "--offer-timeout, --wrap-up-codes, --[no-]require-wrap-up, --skills, "
            "--last-agent-window, --mode, --reawaken-window, --bot, --bot-config, --hours, "
            "--timezone, --closed-on or an inactivity setting (--visitor-idle-alert, ...)"
        )
    command = ConfigureQueue(
        tenant_id=tenant_of(args),
        queue=QueueName(args.queue.strip()),
        max_waiting=args.max_waiting,
        default_max_waiting=bool(args.default_max_waiting),
        offer_timeout=args.offer_timeout,
        wrap_up_codes=None if args.wrap_up_codes is None else parse_list(args.wrap_up_codes),
        require_wrap_up=args.require_wrap_up,
        skills=None if args.skills is None else parse_skills(args.skills),
        last_agent_window=args.last_agent_window,
        mode=args.mode,
        **reawaken_cli.changes(args),
        **bot_cli.bot_changes(args),
        **await hours_cli.hours_changes(args, settings),
        **inactivity_cli.idle_changes(args),
    )
    queue, agents = await configure_queue(settings, command)
    if args.max_waiting is not None or args.default_max_waiting:
        limit = (
            f"{queue.max_waiting}"
            if queue.max_waiting is not None
            else f"{settings.limits.max_queue_waiting} (the default)"
        )
        out.write(f"queue {queue.name}: at most {limit} waiting; {queue.waiting} waiting now\n")
    if args.offer_timeout is not None:
        out.write(f"queue {queue.name}: an offer times out after {queue.offer_timeout} s\n")
    if args.wrap_up_codes is not None or args.require_wrap_up is not None:
        codes = f"wrap-up codes {_wrap_up(queue)}" if queue.wrap_up_codes else "no wrap-up codes"
        out.write(f"queue {queue.name}: {codes}\n")
    if args.skills is not None:
        skills = f"skills {format_skills(queue.skills)}" if queue.skills else "no skills required"
        out.write(f"queue {queue.name}: {skills}\n")
        if queue.skills and not any(a.qualifies(queue.skills) for a in agents):
            # Not an error: the skills may be given to agents next. But until then every
            # chat of the queue waits, and the administrator should know now.
            print(
                f"chat-engine: warning: no agent of queue {queue.name} has these skills; "
                "its chats wait until one does",
                file=sys.stderr,
            )
    if args.last_agent_window is not None:
        preferred = (
            f"for {queue.last_agent_window} s after a chat" if queue.last_agent_window else "never"
        )
        out.write(f"queue {queue.name}: a visitor's last agent is preferred {preferred}\n")
    if args.mode is not None:
        out.write(f"queue {queue.name}: {queue.mode.value} mode\n")
    if reawaken_cli.given(args):
        out.write(reawaken_cli.describe(queue) + "\n")
    if bot_cli.given(args):
        out.write(bot_cli.describe(queue) + "\n")
    if hours_cli.given(args):
        for line in hours_cli.describe(queue):
            out.write(line + "\n")
    if inactivity_cli.given(args):
        for line in inactivity_cli.describe(queue):
            out.write(line + "\n")
    return 0


def _wrap_up(queue: Queue) -> str:
    if not queue.wrap_up_codes:
        return _NONE
    codes = ",".join(queue.wrap_up_codes)
    return f"{codes} (required)" if queue.require_wrap_up else codes


def _last_agent(queue: Queue) -> str:
    return "off" if not queue.last_agent_window else f"{queue.last_agent_window}s"


def table(out: TextIO, rows: Sequence[tuple[str, ...]]) -> None:
    """``rows`` as columns padded to their widest cell (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        out.write("  ".join(cells).rstrip() + "\n")
