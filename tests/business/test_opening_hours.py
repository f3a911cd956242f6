"""Opening hours (``business.opening_hours``): reading, validation, and ``is_open`` /
``next_opening`` on the queue's own wall clock, across DST changes and holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from business.errors import InvalidInput
from business.opening_hours import (
    OpeningHours,
    check_opening_hours,
    opening_hours_to_json,
    parse_closed_dates,
    parse_weekly,
    read_opening_hours,
    weekly_text,
)


def hours(text: str, *, tz: str = "Europe/Berlin", closed: str = "") -> OpeningHours:
    return check_opening_hours(tz, parse_weekly(text), parse_closed_dates(closed))


def utc(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


OFFICE = "mon-fri 09:00-17:30; sat 10:00-14:00"


def test_weekday_hours_are_local_wall_clock_times() -> None:
    office = hours(OFFICE)
    # Thursday 2026-11-26, Berlin is UTC+1 in winter.
    assert not office.is_open(utc(2026, 11, 26, 7, 59))
    assert office.is_open(utc(2026, 11, 26, 8, 0))
    assert office.is_open(utc(2026, 11, 26, 16, 29, 59))
    assert not office.is_open(utc(2026, 11, 26, 16, 30))
    # Saturday 10:00-14:00, Sunday closed.
    assert office.is_open(utc(2026, 11, 28, 9, 0))
    assert not office.is_open(utc(2026, 11, 29, 12, 0))


def test_the_next_opening_is_now_when_open_else_the_next_interval_start() -> None:
    office = hours(OFFICE)
    now = utc(2026, 11, 26, 12, 0)
    assert office.next_opening(now) == now
    # Thursday evening -> Friday 09:00 local.
    assert office.next_opening(utc(2026, 11, 26, 17, 0)) == utc(2026, 11, 27, 8, 0)
    # Saturday after closing -> Monday 09:00 (Sunday has no hours).
    assert office.next_opening(utc(2026, 11, 28, 13, 0)) == utc(2026, 11, 30, 8, 0)


def test_several_intervals_a_day() -> None:
    split = hours("mon-fri 09:00-12:00 13:00-17:00")
    assert not split.is_open(utc(2026, 11, 26, 11, 30))  # 12:30 local, lunch
    assert split.next_opening(utc(2026, 11, 26, 11, 30)) == utc(2026, 11, 26, 12, 0)


def test_spring_forward_keeps_the_wall_clock() -> None:
    office = hours("mon-sun 09:00-17:00")
    # 2026-03-29 is the last Sunday of March: Berlin goes from UTC+1 to UTC+2.
    assert office.next_opening(utc(2026, 3, 28, 18, 0)) == utc(2026, 3, 29, 7, 0)
    assert office.is_open(utc(2026, 3, 29, 7, 0))
    assert not office.is_open(utc(2026, 3, 29, 6, 59))
    assert not office.is_open(utc(2026, 3, 29, 15, 0))  # 17:00 CEST


def test_an_opening_in_the_skipped_hour_is_when_the_clock_jumps() -> None:
    night = hours("sun 02:30-05:00")
    # 02:00 CET jumps to 03:00 CEST at 01:00 UTC: 02:30 never happens; open from 03:00.
    opening = night.next_opening(utc(2026, 3, 28, 12, 0))
    assert opening == utc(2026, 3, 29, 1, 0)
    assert night.is_open(opening)
    assert not night.is_open(utc(2026, 3, 29, 0, 59))


def test_fall_back_keeps_the_wall_clock() -> None:
    office = hours("mon-sun 09:00-17:00")
    # 2026-10-25 is the last Sunday of October: back from UTC+2 to UTC+1.
    assert office.next_opening(utc(2026, 10, 24, 18, 0)) == utc(2026, 10, 25, 8, 0)
    assert office.is_open(utc(2026, 10, 25, 15, 59))
    assert not office.is_open(utc(2026, 10, 25, 16, 0))
    # The hour 02:00-03:00 happens twice: it is open both times.
    early = hours("sun 02:00-03:00")
    assert early.is_open(utc(2026, 10, 25, 0, 30))
    assert early.is_open(utc(2026, 10, 25, 1, 30))
    assert early.next_opening(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 0)


def test_closed_dates_close_the_whole_local_day() -> None:
    office = hours(OFFICE, closed="2026-12-25,2026-12-26")
    # Friday 25th and Saturday 26th closed, Sunday has no hours: Monday 28th.
    assert not office.is_open(utc(2026, 12, 25, 10, 0))
    assert office.next_opening(utc(2026, 12, 24, 17, 0)) == utc(2026, 12, 28, 8, 0)
    # The local date counts: 23:30 UTC on the 24th is already the 25th in Berlin.
    late = hours("mon-sun 00:00-24:00", closed="2026-12-25")
    assert late.is_open(utc(2026, 12, 24, 22, 59))
    assert not late.is_open(utc(2026, 12, 24, 23, 30))
    assert late.next_opening(utc(2026, 12, 24, 23, 30)) == utc(2026, 12, 25, 23, 0)


def test_no_interval_ahead_means_no_next_opening() -> None:
    never = check_opening_hours("UTC", {}, [])
    assert not never.is_open(utc(2026, 1, 1, 12, 0))
    assert never.next_opening(utc(2026, 1, 1, 12, 0)) is None
    assert weekly_text(never) == "closed every day"


def test_the_json_document_round_trips() -> None:
    office = hours(OFFICE, closed="2026-12-26,2026-12-25")
    document = opening_hours_to_json(office)
    assert document["weekly"]["mon"] == [{"start": "09:00", "end": "17:30"}]
    assert document["weekly"]["sun"] == []
    assert document["closed_on"] == ["2026-12-25", "2026-12-26"]
    assert read_opening_hours(document) == office
    assert weekly_text(office).startswith("mon 09:00-17:30; tue 09:00-17:30")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"weekly": {}}, "opening_hours.timezone"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": "UTC", "weekly": {"funday": []}}, "unknown day 'funday'"),
        (
            {"timezone": "UTC", "weekly": {"mon": [{"start": "9", "end": "17:00"}]}},
            r"opening_hours.weekly.mon\[0\].start: '9'",
        ),
        (
            {"timezone": "UTC", "weekly": {"tue": [{"start": "22:00", "end": "06:00"}]}},
            r"weekly.tue\[0\]: the end must be after the start; an interval cannot cross",
        ),
        (
            {
                "timezone": "UTC",
                "weekly": {
                    "wed": [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}]
                },
            },
            "opening_hours.weekly.wed: 09:00-12:00 and 11:00-13:00 overlap",
        ),
        ({"timezone": "UTC", "closed_on": ["25.12.2026"]}, r"closed_on\[0\]: '25.12.2026'"),
        ({"timezone": "UTC", "open": True}, "unknown field 'open'"),
    ],
)
def test_a_bad_document_names_the_field(document: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        read_opening_hours(document)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mon-fri", "needs days and intervals"),
        ("09:00-17:00", "needs days and intervals"),
        ("fri-mon 09:00-17:00", "runs backwards"),
        ("mon 09:00", "not an interval"),
        ("mon 09:00-24:30", "is after 24:00"),
    ],
)
def test_bad_cli_hours_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_weekly(text)


def test_cli_hours_accept_lists_and_repeated_days() -> None:
    parsed = parse_weekly("mon,wed 09:00-12:00; mon 13:00-17:00")
    assert parsed == {"mon": [(540, 720), (780, 1020)], "wed": [(540, 720)]}
    assert parse_closed_dates("2026-12-25, 2026-12-26") == [date(2026, 12, 25), date(2026, 12, 26)]
