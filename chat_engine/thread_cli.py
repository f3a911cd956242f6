"""``chat-engine thread open``: an administrator opens a messaging thread to a known
visitor, by id or by signed identity ``sub``, in an agent's name
(``business.outbound_visitors``): outbound messaging without a conversation to start
from. Audit-logged as ``thread.open`` (``chat_engine.cli_audit``)."""

from __future__ import annotations

import argparse
from typing import TextIO

from business.model import QueueName, TenantId, VisitorId
from business.outbound_visitors import OpenThreadToVisitor
from chat_engine.admin import open_visitor_thread
from chat_engine.settings import Settings


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    thread = commands.add_parser(
        "thread", parents=[common], help="messaging threads (queues in messaging mode)"
    )
    thread_commands = thread.add_subparsers(dest="thread_command", required=True, metavar="COMMAND")
    open_ = thread_commands.add_parser(
        "open",
        parents=[common],
        help="open a new thread to a known visitor, in an agent's name",
        description=(
            "Open a new thread in a messaging queue to a visitor named by id or by the sub "
            "of their signed identity, with TEXT as the agent's first message. It waits on "
            "hold, unread in the visitor's thread list, until they answer; their answer goes "
            "back to that agent, or to the queue. A sub nobody has signed in as yet gets its "
            "visitor now (signed identities must be on), who finds the thread at their first "
            "signed visit."
        ),
    )
    open_.add_argument("tenant_id", metavar="TENANT", help="the tenant's id")
    open_.add_argument("--queue", required=True, metavar="QUEUE", help="a messaging queue")
    open_.add_argument(
        "--agent",
        required=True,
        metavar="ADDRESS",
        help="the XMPP address of the agent it is opened in the name of (one of the queue's)",
    )
    to = open_.add_mutually_exclusive_group(required=True)
    to.add_argument("--visitor", dest="visitor_id", metavar="ID", help="the visitor's id")
    to.add_argument(
        "--identity", metavar="SUB", help="the sub of the visitor's signed identity (exact)"
    )
    open_.add_argument("text", metavar="TEXT", help="the agent's first message")


async def thread_open(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    opened = await open_visitor_thread(
        settings,
        OpenThreadToVisitor(
            tenant_id=TenantId(args.tenant_id.strip()),
            queue=QueueName(args.queue.strip()),
            agent_address=args.agent,
            text=args.text,
            visitor_id=None if args.visitor_id is None else VisitorId(args.visitor_id.strip()),
            sub=args.identity,
        ),
    )
    out.write(
        f"thread {opened.id} opened to visitor {opened.visitor_id} in queue {opened.queue}, "
        "on hold until they answer\n"
    )
    return 0
