"""What a transcript e-mail is made of: the addresses it may go to, the HTML (escaped)
and the composed mail (subject, sender, both parts), as pure functions."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from business.email_addresses import check_email, is_email
from business.errors import InvalidInput
from business.events import MessagePosted, MessageUpdated, ParticipantJoined
from business.mail_settings import MailSettings
from business.model import (
    ConversationId,
    EventId,
    ParticipantKind,
    TenantId,
)
from business.transcript_mail import compose_transcript_mail
from business.transcript_mail_ports import QueuedTranscript, TranscriptMailId
from business.transcripts import LineKind, Transcript, TranscriptLine, render_transcript
from tests.business.test_transcripts import ALICE, ANN, CONV, Events, at

XSS = '<script>alert("x")</script> & <b>bold</b>'


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("ann@example.org", "ann@example.org"),
        ("  Ann.O'Neil+chat@Example.ORG \n", "Ann.O'Neil+chat@example.org"),
        ("a@b.co", "a@b.co"),
        ("user@bücher.example", "user@xn--bcher-kva.example"),
        ("x@sub-domain.example.co.uk", "x@sub-domain.example.co.uk"),
    ],
)
def test_addresses_people_type_are_accepted_with_the_domain_in_lower_case(
    given: str, stored: str
) -> None:
    assert check_email(given) == stored


@pytest.mark.parametrize(
    "given",
    [
        "",
        "ann",
        "ann@",
        "@example.org",
        "ann@example",  # one label: no domain of the Internet
        "ann@@example.org",
        "ann@exa mple.org",
        "an n@example.org",
        "ann.@example.org",
        "ann..x@example.org",
        '"ann"@example.org',
        "ann@[127.0.0.1]",
        "ann@127.0.0.1",
        "ann@-example.org",
        "ann@example.org\r\nBcc: everyone@example.org",
        "ann@example.org\nX: y",
        "ann@example.org, bob@example.org",
        "Ann <ann@example.org>",
        "ännchen@example.org",
        "a" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
    ],
)
def test_anything_else_is_refused_so_no_header_can_be_smuggled(given: str) -> None:
    with pytest.raises(InvalidInput):
        check_email(given)
    assert not is_email(given)


def test_mail_settings_need_a_sender_with_a_host_and_check_their_values() -> None:
    assert not MailSettings().enabled
    on = MailSettings(host="smtp.example.org", from_address="noreply@example.org")
    assert on.enabled
    assert (
        on.effective_port,
        MailSettings(host="h", from_address="a@b.co", tls="tls").effective_port,
    ) == (587, 465)
    for bad, message in [
        ({"host": "smtp.example.org"}, "from_address is required"),
        ({"from_address": "not an address"}, "from_address:"),
        ({"tls": "ssl"}, "tls must be one of none, starttls, tls"),
        ({"username": "u"}, "password is required with username"),
        ({"password": "p"}, "username is required with password"),
        ({"timeout": 0.0}, "timeout must be"),
        ({"max_requests": 0}, "max_requests must be"),
        ({"port": 70000}, "port must be"),
        ({"from_name": "Shop\nBcc: x@y.z"}, "from_name must be"),
    ]:
        with pytest.raises(ValueError, match=message):
            MailSettings(**bad)  # type: ignore[arg-type]


def _transcript_with_markup() -> Transcript:
    events = Events()
    events.visible(ParticipantJoined, created_at=at(5), participant=ALICE)
    events.visible(MessagePosted, created_at=at(10), id=EventId("m1"), sender=ANN, text=XSS)
    events.visible(
        MessagePosted,
        created_at=at(20),
        id=EventId("m2"),
        sender=ALICE,
        text="Line one\nLine two",
        attachments=("https://files.example/a?x=1&y=2", "javascript:alert(1)"),
    )
    events.visible(
        MessageUpdated,
        created_at=at(25),
        id=EventId("m3"),
        replaces=EventId("m2"),
        sender=ALICE,
        text="Fixed",
    )
    return render_transcript(CONV, events.events, attachment_url=str)


QUEUED = QueuedTranscript(
    id=TranscriptMailId("m-1"),
    tenant_id=TenantId("default"),
    conversation_id=ConversationId("c-1"),
    number=1,
    address="ann@example.org",
    created_at=at(700),
    next_attempt_at=at(700),
)


def test_the_mail_is_from_the_tenant_to_the_visitor_with_both_parts() -> None:
    transcript = _transcript_with_markup()

    mail = compose_transcript_mail(
        QUEUED, transcript, tenant_name="Northwind\r\n Coffee", sender="noreply@example.org"
    )

    assert mail.reference == "m-1"
    assert (mail.sender, mail.sender_name, mail.to) == (
        "noreply@example.org",
        "Northwind Coffee",
        "ann@example.org",
    )
    assert mail.subject == "Your conversation with Northwind Coffee"
    assert mail.text == (
        "Here is the transcript of your conversation with Northwind Coffee.\n\n" + transcript.text
    )
    assert f"Ann: {XSS}" in mail.text  # plain text says what was typed
    named = compose_transcript_mail(
        QUEUED, transcript, tenant_name="Shop", sender="a@b.co", sender_name="Shop Support"
    )
    assert named.sender_name == "Shop Support"


def test_the_html_escapes_everything_people_wrote_and_links_only_web_addresses() -> None:
    transcript = _transcript_with_markup()

    page = compose_transcript_mail(
        QUEUED, transcript, tenant_name="<Shop & Co>", sender="noreply@example.org"
    ).html

    assert "<script>" not in page
    assert "<b>bold</b>" not in page
    assert html.escape(XSS) in page
    assert "&lt;Shop &amp; Co&gt;" in page
    assert "<Shop" not in page
    # The correction replaces the text and says so; line breaks are kept by style.
    assert "Fixed" in page
    assert "Line one" not in page
    assert "(edited)" in page
    assert "white-space:pre-wrap" in page
    assert '<a href="https://files.example/a?x=1&amp;y=2">' in page
    assert 'href="javascript' not in page
    assert "javascript:alert(1)" in page  # shown as text
    # Every tag in the document is one of the template's own.
    tags = set(re.findall(r"<([a-zA-Z]+)", page))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "body",
        "div",
        "p",
        "table",
        "tr",
        "td",
        "strong",
        "br",
        "span",
        "a",
    }


def test_the_html_has_a_row_per_line_with_its_time_and_the_conversations_times() -> None:
    line = TranscriptLine(
        at=datetime(2026, 5, 4, 9, 30, 10, tzinfo=UTC),
        kind=LineKind.MESSAGE,
        sender_kind=ParticipantKind.VISITOR,
        sender_name="Ann",
        text="Hi",
    )
    transcript = Transcript(
        conversation_id=ConversationId("c-1"),
        visitor_name="Ann",
        queue=CONV.queue,
        started_at=line.at - timedelta(seconds=10),
        ended_at=line.at + timedelta(minutes=5),
        lines=(line,),
        text="",
    )

    page = compose_transcript_mail(
        QUEUED, transcript, tenant_name="Shop", sender="noreply@example.org"
    ).html

    assert "2026-05-04 09:30:00 UTC to 2026-05-04 09:35:10 UTC" in page
    assert page.count("<tr>") == 1
    assert "2026-05-04 09:30:10 UTC" in page
    assert "<strong>Ann</strong>" in page
