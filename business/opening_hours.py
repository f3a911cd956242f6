"""A queue's opening hours: when its visitors may start chats (``Queue.opening_hours``).

The hours are wall-clock times in the queue's own IANA time zone, so "09:00" stays
09:00 across daylight-saving changes; instants are tz-aware and compared in UTC. An
interval never crosses midnight (write ``22:00-24:00`` and ``00:00-06:00`` on the next
day instead): a closed date then closes exactly that local day and nothing of the next.
No opening hours at all (``None`` on the queue) means always open.

Two forms are read, each with errors that name the bad field: the JSON document
(REST API and storage; ``read_opening_hours`` / ``opening_hours_to_json``) and the
CLI's one-line text (``parse_weekly``, ``parse_closed_dates``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from business.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names, Monday first (``date.weekday()`` indexes them)."""

MAX_CLOSED_DATES = 366
MAX_INTERVALS_A_DAY = 12
_DAY_MINUTES = 24 * 60
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Interval:
    """Open from ``start`` up to (not including) ``end``, minutes after local midnight;
    ``end`` may be 1440 (24:00)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OpeningHours:
    timezone: str
    """An IANA name, e.g. ``Europe/Berlin`` (checked against the standard zoneinfo)."""
    weekly: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday first; each the day's intervals, sorted and disjoint."""
    closed_on: tuple[date, ...] = ()
    """Local dates on which the queue stays closed all day (holidays), sorted."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        """Whether the queue is open at the instant ``at`` (tz-aware)."""
        local = at.astimezone(self.zone)
        if local.date() in self.closed_on:
            return False
        seconds = local.hour * 3600 + local.minute * 60 + local.second
        return any(
            i.start * 60 <= seconds < i.end * 60 for i in self.weekly[local.date().weekday()]
        )

    def next_opening(self, after: datetime) -> datetime | None:
        """The first instant at or after ``after`` at which the queue is open (``after``
        itself when it is open then), in UTC; None when it never opens again (no
        intervals, or every day the search covers is closed)."""
        if self.is_open(after):
            return after.astimezone(UTC)
        zone = self.zone
        first_day = after.astimezone(zone).date()
        # Every weekday comes round once a week; closed dates can only push it further.
        for offset in range(7 + len(self.closed_on) + 1):
            day = first_day + timedelta(days=offset)
            if day in self.closed_on:
                continue
            for interval in self.weekly[day.weekday()]:
                if interval.start >= _DAY_MINUTES:
                    continue
                opening = self._start_instant(day, interval.start, zone)
                if opening >= after:
                    return opening
        return None

    def _start_instant(self, day: date, minute: int, zone: ZoneInfo) -> datetime:
        wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
        earliest = wall.replace(fold=0).astimezone(UTC)
        if earliest.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
            return earliest  # a real wall time (the first one, when it happens twice)
        # A wall time that a spring-forward skips: the queue opens when the clock jumps
        # past it, somewhere between the two readings of the missing time.
        probe = wall.replace(fold=1).astimezone(UTC)
        while probe < earliest and not self.is_open(probe):
            probe += timedelta(minutes=1)
        return probe


def check_opening_hours(
    timezone: object, weekly: Mapping[str, Iterable[tuple[int, int]]], closed_on: Iterable[date]
) -> OpeningHours:
    """An ``OpeningHours`` from parts that are each well formed already; ``InvalidInput``
    naming the field when the zone is unknown or a day's intervals overlap."""
    if not isinstance(timezone, str) or not timezone:
        raise InvalidInput("opening_hours.timezone: give an IANA time zone, e.g. Europe/Berlin")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise InvalidInput(
            f"opening_hours.timezone: unknown time zone {timezone!r} (an IANA name, e.g. "
            "Europe/Berlin)"
        ) from error
    days: list[tuple[Interval, ...]] = []
    for name in DAYS:
        intervals = [Interval(s, e) for s, e in sorted(weekly.get(name, ()))]
        if len(intervals) > MAX_INTERVALS_A_DAY:
            raise InvalidInput(
                f"opening_hours.weekly.{name}: at most {MAX_INTERVALS_A_DAY} intervals a day"
            )
        for before, later in pairwise(intervals):
            if later.start < before.end:
                raise InvalidInput(
                    f"opening_hours.weekly.{name}: {_interval_text(before)} and "
                    f"{_interval_text(later)} overlap"
                )
        days.append(tuple(intervals))
    closed = tuple(sorted(set(closed_on)))
    if len(closed) > MAX_CLOSED_DATES:
        raise InvalidInput(f"opening_hours.closed_on: at most {MAX_CLOSED_DATES} dates")
    return OpeningHours(timezone=timezone, weekly=tuple(days), closed_on=closed)


def read_opening_hours(document: object) -> OpeningHours:
    """The ``OpeningHours`` a JSON document describes::

        {"timezone": "Europe/Berlin",
         "weekly": {"mon": [{"start": "09:00", "end": "17:30"}], ...},
         "closed_on": ["2026-12-25"]}

    Days left out are closed; ``InvalidInput`` names the first bad field."""
    if not isinstance(document, Mapping):
        raise InvalidInput("opening_hours must be an object")
    unknown = sorted(set(document) - {"timezone", "weekly", "closed_on"})
    if unknown:
        raise InvalidInput(f"opening_hours: unknown field {unknown[0]!r}")
    weekly = document.get("weekly") or {}
    if not isinstance(weekly, Mapping):
        raise InvalidInput("opening_hours.weekly must be an object of weekdays")
    days: dict[str, list[tuple[int, int]]] = {}
    for name, intervals in weekly.items():
        if name not in DAYS:
            raise InvalidInput(
                f"opening_hours.weekly: unknown day {name!r} (one of {', '.join(DAYS)})"
            )
        if intervals is None:
            continue
        if not isinstance(intervals, list):
            raise InvalidInput(f"opening_hours.weekly.{name} must be a list of intervals")
        days[name] = [
            _read_interval(item, f"opening_hours.weekly.{name}[{n}]")
            for n, item in enumerate(intervals)
        ]
    closed = document.get("closed_on") or []
    if not isinstance(closed, list):
        raise InvalidInput("opening_hours.closed_on must be a list of ISO dates")
    dates = [_read_date(value, f"opening_hours.closed_on[{n}]") for n, value in enumerate(closed)]
    return check_opening_hours(document.get("timezone"), days, dates)


def opening_hours_to_json(hours: OpeningHours) -> dict[str, Any]:
    """The whole document for ``hours`` (every day written out): what is stored and
    shown, and what ``read_opening_hours`` reads back to an equal value."""
    return {
        "timezone": hours.timezone,
        "weekly": {
            name: [{"start": _clock(i.start), "end": _clock(i.end)} for i in intervals]
            for name, intervals in zip(DAYS, hours.weekly, strict=True)
        },
        "closed_on": [day.isoformat() for day in hours.closed_on],
    }


def parse_weekly(text: str) -> dict[str, list[tuple[int, int]]]:
    """The CLI's weekly hours: ``mon-fri 09:00-17:30; sat 10:00-14:00``. Parts are
    separated by ``;``; each names days (``mon``, ``mon-fri``, ``mon,wed``) and then one
    or more intervals (``09:00-12:00 13:00-17:00``). A day named twice gets both."""
    days: dict[str, list[tuple[int, int]]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        words = part.replace(",", " , ").split()
        names: list[str] = []
        while words and not words[0][:1].isdigit():
            word = words.pop(0)
            if word != ",":
                names.extend(_day_range(word.lower(), part))
        if not names or not words:
            raise InvalidInput(
                f"--hours: {part!r} needs days and intervals, e.g. 'mon-fri 09:00-17:30'"
            )
        intervals = [_parse_interval(w, f"--hours {part!r}") for w in words if w != ","]
        for name in names:
            days.setdefault(name, []).extend(intervals)
    if not days:
        raise InvalidInput("--hours: give e.g. 'mon-fri 09:00-17:30', or 'always'")
    return days


def parse_closed_dates(text: str) -> list[date]:
    """The CLI's closed dates: ISO dates separated by commas; empty: none."""
    return [_read_date(value.strip(), "--closed-on") for value in text.split(",") if value.strip()]


def weekly_text(hours: OpeningHours) -> str:
    """The weekly hours in the CLI's form, one part per day: ``mon 09:00-17:30; ...``."""
    parts = [
        f"{name} " + " ".join(_interval_text(i) for i in intervals)
        for name, intervals in zip(DAYS, hours.weekly, strict=True)
        if intervals
    ]
    return "; ".join(parts) or "closed every day"


def _day_range(word: str, part: str) -> list[str]:
    first, _, last = word.partition("-")
    if first not in DAYS or (last and last not in DAYS):
        raise InvalidInput(f"--hours {part!r}: unknown day {word!r} (one of {', '.join(DAYS)})")
    if not last:
        return [first]
    a, b = DAYS.index(first), DAYS.index(last)
    if b < a:
        raise InvalidInput(f"--hours {part!r}: {word!r} runs backwards")
    return list(DAYS[a : b + 1])


def _parse_interval(text: str, where: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    if not sep:
        raise InvalidInput(f"{where}: {text!r} is not an interval like 09:00-17:30")
    return _check_interval(_minute(start, where), _minute(end, where), where)


def _read_interval(item: object, where: str) -> tuple[int, int]:
    if not isinstance(item, Mapping) or set(item) != {"start", "end"}:
        raise InvalidInput(f"{where} must be an object with start and end, e.g. 09:00")
    return _check_interval(
        _minute(item["start"], f"{where}.start"), _minute(item["end"], f"{where}.end"), where
    )


def _check_interval(start: int, end: int, where: str) -> tuple[int, int]:
    if start >= _DAY_MINUTES:
        raise InvalidInput(f"{where}: an interval cannot start at 24:00")
    if end <= start:
        raise InvalidInput(
            f"{where}: the end must be after the start; an interval cannot cross midnight "
            "(split it: 22:00-24:00 and 00:00-06:00 on the next day)"
        )
    return start, end


def _minute(value: object, where: str) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"{where}: {value!r} is not a time like 09:00 (00:00 to 24:00)")
    minute = int(match[1]) * 60 + int(match[2])
    if minute > _DAY_MINUTES:
        raise InvalidInput(f"{where}: {value!r} is after 24:00")
    return minute


def _read_date(value: object, where: str) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{where}: {value!r} is not an ISO date like 2026-12-25") from None


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _interval_text(interval: Interval) -> str:
    return f"{_clock(interval.start)}-{_clock(interval.end)}"
