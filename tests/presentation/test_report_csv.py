"""Reports as CSV: the columns and values of the JSON records, quoted as RFC 4180 says,
and nothing a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)
from business.report_metrics import REPORT_FIELDS, ConversationMetrics, ConversationOutcome
from presentation.report_csv import CSV_CONTENT_TYPE, csv_lines, render_csv

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)

ANSWERED = ConversationMetrics(
    conversation_id=ConversationId("c-1"),
    tenant_id=TenantId("default"),
    queue=QueueName("support"),
    visitor_id=VisitorId("v-1"),
    agent_id=AgentId("a-1"),
    agent_name='Alice "Ali" Smith, jr.',
    created_at=T0,
    assigned_at=T0 + timedelta(seconds=12),
    ended_at=T0 + timedelta(seconds=49, milliseconds=500),
    ended_by=ParticipantKind.AGENT,
    wait_seconds=12.0,
    first_response_seconds=3.25,
    handle_seconds=37.5,
    messages_visitor=3,
    messages_agent=2,
    transfers=0,
    wrap_up="resolved",
    outcome=ConversationOutcome.ANSWERED,
)
ABANDONED = ConversationMetrics(
    conversation_id=ConversationId("c-2"),
    tenant_id=TenantId("default"),
    queue=QueueName("sales"),
    visitor_id=VisitorId("v-2"),
    agent_id=None,
    agent_name=None,
    created_at=T0,
    assigned_at=None,
    ended_at=T0 + timedelta(minutes=2),
    ended_by=ParticipantKind.VISITOR,
    wait_seconds=None,
    first_response_seconds=None,
    handle_seconds=None,
    messages_visitor=1,
    messages_agent=0,
    transfers=0,
    wrap_up=None,
    outcome=ConversationOutcome.ABANDONED_IN_QUEUE,
    channel=Channel.API,
)


def test_a_csv_document_has_a_header_and_a_line_per_report() -> None:
    text = render_csv([ANSWERED, ABANDONED])

    assert CSV_CONTENT_TYPE == "text/csv; charset=utf-8"
    assert text.split("\r\n") == [
        ",".join(REPORT_FIELDS),
        'c-1,default,support,v-1,a-1,"Alice ""Ali"" Smith, jr.",2026-05-04T09:30:00+00:00,'
        "2026-05-04T09:30:12+00:00,2026-05-04T09:30:49.500000+00:00,agent,12.0,3.25,37.5,"
        "3,2,0,false,resolved,answered,web",
        "c-2,default,sales,v-2,,,2026-05-04T09:30:00+00:00,,2026-05-04T09:32:00+00:00,"
        "visitor,,,,1,0,0,false,,abandoned_in_queue,api",
        "",
    ]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["agent_name"] == 'Alice "Ali" Smith, jr.'
    assert rows[1]["wait_seconds"] == ""


def test_lines_stream_one_report_at_a_time_and_pages_after_the_first_skip_the_header() -> None:
    first_page = list(csv_lines([ANSWERED]))
    next_page = list(csv_lines([ABANDONED], header=False))
    assert len(first_page) == 2
    assert len(next_page) == 1
    assert "".join(first_page + next_page) == render_csv([ANSWERED, ABANDONED])


def test_a_cell_a_spreadsheet_would_run_is_defused() -> None:
    sneaky = ConversationMetrics(
        **{
            **{name: getattr(ANSWERED, name) for name in REPORT_FIELDS},
            "agent_name": '=HYPERLINK("http://evil.example","x")',
            "wrap_up": "+1",
        }
    )
    row = next(csv.DictReader(io.StringIO(render_csv([sneaky]))))
    assert row["agent_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["wrap_up"] == "'+1"
    assert row["wait_seconds"] == "12.0"  # numbers stay numbers
