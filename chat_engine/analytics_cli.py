"""``chat-engine report triggers`` and ``chat-engine report page-views``: what the widget's
analytics module counted (``business.analytics``), as a table, for a period of UTC days."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from business.analytics import PageViewDay, TriggerFigures
from business.model import TenantId
from chat_engine.admin import analytics_page_views, analytics_triggers
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

DEFAULT_DAYS = 30


def add_report_parsers(
    report_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Under ``chat-engine report``."""
    for name, what in (
        ("triggers", "per trigger: impressions, engagements and their rate"),
        ("page-views", "page views with the widget, per day"),
    ):
        parser = report_commands.add_parser(name, parents=[common], help=f"web analytics: {what}")
        parser.add_argument(
            "--first-day",
            type=_day,
            metavar="DAY",
            help=f"the first UTC day, 2026-05-01 (default: {DEFAULT_DAYS} days before the last)",
        )
        parser.add_argument(
            "--last-day",
            type=_day,
            metavar="DAY",
            help="the last UTC day, included (default: today)",
        )
        add_tenant_option(parser)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is no day (use 2026-05-04)") from None


def _period(args: argparse.Namespace) -> tuple[TenantId, date, date]:
    last: date = args.last_day or datetime.now(UTC).date()
    first: date = args.first_day or last - timedelta(days=DEFAULT_DAYS - 1)
    return tenant_of(args), first, last


async def report_triggers(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant, first, last = _period(args)
    figures = await analytics_triggers(settings, tenant, first_day=first, last_day=last)
    if not figures:
        out.write(f"no trigger fired from {first} to {last}\n")
        return 0
    _table(
        out, ("TRIGGER", "IMPRESSIONS", "ENGAGEMENTS", "RATE"), [_trigger_row(f) for f in figures]
    )
    return 0


async def report_page_views(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    tenant, first, last = _period(args)
    days = await analytics_page_views(settings, tenant, first_day=first, last_day=last)
    if not days:
        out.write(f"no page views from {first} to {last}\n")
        return 0
    rows = [_day_row(d) for d in days]
    rows.append(("TOTAL", str(sum(d.page_views for d in days))))
    _table(out, ("DAY (UTC)", "PAGE VIEWS"), rows)
    return 0


def _trigger_row(f: TriggerFigures) -> tuple[str, ...]:
    rate = "-" if f.engagement_rate is None else f"{f.engagement_rate * 100:.1f}%"
    return (f.trigger_id, str(f.impressions), str(f.engagements), rate)


def _day_row(d: PageViewDay) -> tuple[str, ...]:
    return (d.day.isoformat(), str(d.page_views))


def _table(out: TextIO, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    lines = [header, *rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    for row in lines:
        out.write(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            + "\n"
        )
