"""The CLI's part of opening hours: ``queue set --hours … --timezone … --closed-on …``
(``--hours always`` removes them) and ``queue show QUEUE``, which prints a queue's
settings with its opening hours and whether it is open now.

A flag left out keeps that part of the hours in effect, so ``--closed-on`` alone changes
only the holidays; a queue without hours needs ``--hours`` and ``--timezone`` together.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from business.errors import InvalidInput, NotFound
from business.model import Queue, QueueName
from business.opening_hours import (
    DAYS,
    OpeningHours,
    check_opening_hours,
    parse_closed_dates,
    parse_weekly,
    weekly_text,
)
from chat_engine import bot_cli, inactivity_cli, reawaken_cli
from chat_engine.admin import list_queues
from chat_engine.settings import Settings
from chat_engine.tenant_option import add_tenant_option, tenant_of

ALWAYS = "always"


def add_set_arguments(set_: argparse.ArgumentParser) -> None:
    """``--hours``, ``--timezone`` and ``--closed-on`` of ``queue set``."""
    set_.add_argument(
        "--hours",
        metavar="HOURS",
        help="opening hours, e.g. 'mon-fri 09:00-17:30; sat 10:00-14:00' (several "
        "intervals a day allowed, none across midnight; days left out are closed); "
        "starts outside them get queue_closed. 'always' removes them",
    )
    set_.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the IANA time zone of the hours, e.g. Europe/Berlin",
    )
    set_.add_argument(
        "--closed-on",
        metavar="DATES",
        help="comma-separated local dates closed all day, e.g. 2026-12-25,2026-12-26 "
        "('' removes them)",
    )


def add_parsers(
    queue_commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    show = queue_commands.add_parser(
        "show",
        parents=[common],
        help="print a queue's settings and opening hours",
        description="Print a queue's settings, its opening hours and whether it is open now.",
    )
    show.add_argument("queue", metavar="QUEUE", help="the queue, e.g. support")
    add_tenant_option(show)


def given(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.hours, args.timezone, args.closed_on))


async def hours_changes(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The ``ConfigureQueue`` fields the three flags ask for (none when none is given)."""
    if not given(args):
        return {}
    if args.hours is not None and args.hours.strip().lower() == ALWAYS:
        if args.timezone is not None or args.closed_on is not None:
            raise InvalidInput("--hours always takes no --timezone or --closed-on")
        return {"always_open": True}
    current = None
    if args.hours is None or args.timezone is None or args.closed_on is None:
        current = (await _queue(args, settings)).opening_hours
    if args.hours is not None:
        weekly = parse_weekly(args.hours)
    elif current is not None:
        weekly = {
            d: [(i.start, i.end) for i in day] for d, day in zip(DAYS, current.weekly, strict=True)
        }
    else:
        raise InvalidInput("the queue has no opening hours yet: give --hours and --timezone")
    if args.timezone is not None:
        zone = args.timezone.strip()
    elif current is not None:
        zone = current.timezone
    else:
        raise InvalidInput("the queue has no opening hours yet: give --timezone with --hours")
    if args.closed_on is not None:
        closed = parse_closed_dates(args.closed_on)
    else:
        closed = list(current.closed_on) if current is not None else []
    return {"opening_hours": check_opening_hours(zone, weekly, closed)}


def describe(queue: Queue, now: datetime | None = None) -> list[str]:
    """Lines on the queue's opening hours and whether it is open at ``now``."""
    hours = queue.opening_hours
    if hours is None:
        return [f"queue {queue.name}: always open (no opening hours)"]
    lines = [
        f"queue {queue.name}: open {weekly_text(hours)} ({hours.timezone})",
        f"queue {queue.name}: closed on "
        + (", ".join(d.isoformat() for d in hours.closed_on) or "no dates"),
    ]
    lines.append(f"queue {queue.name}: {_now(hours, now or datetime.now(UTC))}")
    return lines


def _now(hours: OpeningHours, now: datetime) -> str:
    if hours.is_open(now):
        return "open now"
    opens = hours.next_opening(now)
    if opens is None:
        return "closed now, no opening ahead"
    return f"closed now, opens {opens.astimezone(hours.zone).isoformat(timespec='minutes')}"


async def queue_show(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    queue = await _queue(args, settings)
    limit = (
        str(queue.max_waiting)
        if queue.max_waiting is not None
        else f"{settings.limits.max_queue_waiting} (default)"
    )
    out.write(
        f"queue {queue.name} ({queue.title}): {queue.waiting} waiting, at most {limit}; "
        f"offers time out after {queue.offer_timeout} s; {queue.mode.value} mode\n"
    )
    out.write(reawaken_cli.describe(queue) + "\n")
    out.write(bot_cli.describe(queue) + "\n")
    for line in (*describe(queue), *inactivity_cli.describe(queue)):
        out.write(line + "\n")
    return 0


async def _queue(args: argparse.Namespace, settings: Settings) -> Queue:
    name = QueueName(args.queue.strip())
    queue = next((q for q in await list_queues(settings, tenant_of(args)) if q.name == name), None)
    if queue is None:
        raise NotFound(f"unknown queue {name!r}")
    return queue
