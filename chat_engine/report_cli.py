"""``chat-engine report conversations``: the reports of ended conversations, as a table or
as CSV (the columns of the REST API's CSV)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TextIO

from business.model import QueueName
from business.report_metrics import ConversationMetrics
from business.reports import ReportQuery
from chat_engine import analytics_cli
from chat_engine.admin import conversation_reports
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

_COLUMNS = (
    "ENDED (UTC)",
    "QUEUE",
    "AGENT",
    "OUTCOME",
    "WAIT",
    "REPLY",
    "HANDLE",
    "MSGS",
    "WRAP-UP",
)


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    report = commands.add_parser(
        "report",
        parents=[common],
        help="conversation reports and web analytics",
        description=(
            "What each ended conversation measured: waits, first reply, handling time, "
            "messages, transfers, wrap-up code and outcome (docs/integrator-guide.md)."
        ),
    )
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    conversations = report_commands.add_parser(
        "conversations",
        parents=[common],
        help="the reports of ended conversations, oldest end first",
    )
    conversations.add_argument(
        "--since",
        type=_when,
        metavar="TIME",
        help="ended at or after TIME: 2026-05-04 or 2026-05-04T09:30 (UTC unless it has "
        "an offset such as +02:00)",
    )
    conversations.add_argument("--until", type=_when, metavar="TIME", help="ended before TIME")
    conversations.add_argument("--queue", metavar="QUEUE", help="only chats that ended in QUEUE")
    conversations.add_argument(
        "--agent", metavar="JID", help="only chats this agent (their address) had last"
    )
    add_tenant_option(conversations)
    conversations.add_argument(
        "--csv", action="store_true", help="CSV with a header line instead of a table"
    )
    analytics_cli.add_report_parsers(report_commands, common)


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is no date or time (use 2026-05-04 or 2026-05-04T09:30)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def report_conversations(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    query = ReportQuery(
        tenant_id=tenant_of(args),
        since=args.since,
        until=args.until,
        queue=None if args.queue is None else QueueName(args.queue.strip()),
    )
    pages = conversation_reports(settings, query, agent_address=args.agent)
    if args.csv:
        # Imported here: the web edge's modules are not needed for anything else.
        from presentation.report_csv import csv_lines

        first = True
        async for page in pages:
            out.writelines(csv_lines(page, header=first))
            first = False
        return 0
    rows: list[tuple[str, ...]] = [_COLUMNS]
    async for page in pages:
        rows.extend(_row(report) for report in page)
    if len(rows) == 1:
        out.write("no conversation reports match\n")
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return 0


def _row(report: ConversationMetrics) -> tuple[str, ...]:
    return (
        report.ended_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        report.queue,
        report.agent_name or "-",
        report.outcome.value,
        _seconds(report.wait_seconds),
        _seconds(report.first_response_seconds),
        _seconds(report.handle_seconds),
        f"{report.messages_visitor}/{report.messages_agent}",
        report.wrap_up or "-",
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g}s"
