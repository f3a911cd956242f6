"""Conversation reports as CSV (RFC 4180), for the edges that offer them: the REST
endpoint's ``Accept: text/csv`` and ``chat-engine report conversations --csv``.

The columns are ``business.report_metrics.REPORT_FIELDS``, the same names and values as
the JSON records (``metrics_record``): ISO 8601 times in UTC, durations in seconds,
empty for none. A text cell that a spreadsheet would take for a formula (starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, so opening
an export never runs anything an agent's name or a code carried in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Final

from business.report_metrics import REPORT_FIELDS, ConversationMetrics, metrics_record

CSV_CONTENT_TYPE: Final = "text/csv; charset=utf-8"
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_lines(reports: Iterable[ConversationMetrics], *, header: bool = True) -> Iterator[str]:
    """One CSV line per report (after the header line, if ``header``), each ending in
    CRLF: for streaming a long export page by page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        writer.writerow(REPORT_FIELDS)
        yield _take(buffer)
    for report in reports:
        writer.writerow(_cell(value) for value in metrics_record(report).values())
        yield _take(buffer)


def render_csv(reports: Iterable[ConversationMetrics], *, header: bool = True) -> str:
    """The whole CSV document of ``reports``."""
    return "".join(csv_lines(reports, header=header))


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _take(buffer: io.StringIO) -> str:
    line = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return line
