"""A queue's opening hours in the REST API (``QueueOut.opening_hours``, and
``opening_hours`` of a queue's create and update bodies).

The request model describes the document and refuses what is plainly malformed; the
document is then read by ``business.opening_hours.read_opening_hours`` (the same rules as
the CLI's ``queue set --hours``: known time zone, intervals that do not overlap or cross
midnight), whose ``InvalidInput`` names the field at fault.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from business.opening_hours import (
    DAYS,
    MAX_CLOSED_DATES,
    MAX_INTERVALS_A_DAY,
    OpeningHours,
    opening_hours_to_json,
    read_opening_hours,
)
from presentation.api.registry import Body

Clock = Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
DayIntervals = Annotated[list["IntervalIn"], Field(max_length=MAX_INTERVALS_A_DAY)]


class IntervalIn(Body):
    start: Clock = Field(description="local time, e.g. `09:00`")
    end: Clock = Field(description="local time after `start`, up to `24:00`")


class WeeklyIn(Body):
    """Each weekday's intervals; a day left out or empty is closed."""

    mon: DayIntervals = []
    tue: DayIntervals = []
    wed: DayIntervals = []
    thu: DayIntervals = []
    fri: DayIntervals = []
    sat: DayIntervals = []
    sun: DayIntervals = []


class OpeningHoursIn(Body):
    """When visitors may start chats. An interval may not cross midnight: split
    `22:00-06:00` into `22:00-24:00` and `00:00-06:00` of the next day."""

    timezone: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_+\-/]+$",
        description="IANA time zone the times are in, e.g. `Europe/Berlin`",
    )
    weekly: WeeklyIn = Field(default_factory=WeeklyIn)
    closed_on: list[date] = Field(
        default=[],
        max_length=MAX_CLOSED_DATES,
        description="local dates closed all day (holidays)",
    )

    def hours(self) -> OpeningHours:
        return read_opening_hours(self.model_dump(mode="json"))


class IntervalOut(BaseModel):
    start: str = Field(description="local time, e.g. `09:00`")
    end: str = Field(description="local time, up to `24:00`")


class WeeklyOut(BaseModel):
    mon: list[IntervalOut]
    tue: list[IntervalOut]
    wed: list[IntervalOut]
    thu: list[IntervalOut]
    fri: list[IntervalOut]
    sat: list[IntervalOut]
    sun: list[IntervalOut]


class OpeningHoursOut(BaseModel):
    timezone: str = Field(description="IANA time zone of the times")
    weekly: WeeklyOut = Field(description="each weekday's intervals, sorted; empty: closed")
    closed_on: list[date] = Field(description="local dates closed all day, sorted")


def opening_hours_out(hours: OpeningHours) -> OpeningHoursOut:
    document = opening_hours_to_json(hours)
    assert tuple(document["weekly"]) == DAYS
    return OpeningHoursOut.model_validate(document)
