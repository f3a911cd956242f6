"""``SmtpTranscriptMailer`` against a real SMTP server (aiosmtpd) on loopback: the
message as received (multipart, both parts, headers, HTML escaped), TLS both ways, a
login, and what refusals and dead servers come to."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from business.mail_settings import MailSettings
from business.transcript_mail_ports import TranscriptMail
from presentation.smtp_mailer import SmtpTranscriptMailer
from tests.presentation.smtp_server import Certificate, make_certificate, smtp_server

XSS = '<img src=x onerror=alert(1)> & "quotes"'
MAIL = TranscriptMail(
    reference="0123abcd",
    sender="noreply@chat.example.org",
    sender_name="Northwind Coffee, Inc.",
    to="ann@example.org",
    subject="Your conversation with Northwind Coffee — ☕",
    text="Here is the transcript.\n\n[2026-05-04 09:30:10 UTC] Ann: " + XSS + "\nGrüße\n",
    html=f"<!DOCTYPE html><html><body><p>{html.escape(XSS)}</p><p>Grüße</p></body></html>\n",
)


def settings(port: int, **changes: object) -> MailSettings:
    base = MailSettings(
        host="127.0.0.1", port=port, tls="none", from_address=MAIL.sender, timeout=5.0
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def parts(message: EmailMessage) -> list[EmailMessage]:
    found = [p for p in message.iter_parts() if isinstance(p, EmailMessage)]
    assert len(found) == len(list(message.iter_parts()))
    return found


async def test_the_transcript_arrives_as_text_and_html_alternatives_with_its_headers() -> None:
    async with smtp_server() as server:
        outcome = await SmtpTranscriptMailer(settings(server.port)).send(MAIL)
        [received] = await server.wait_for(1)

    assert outcome.ok
    assert (received.mail_from, received.rcpt_tos) == (MAIL.sender, ("ann@example.org",))
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    text, page = parts(message)
    assert (text.get_content_type(), page.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == page.get_content_charset() == "utf-8"
    # SMTP carries lines ending in CRLF.
    assert text.get_content().replace("\r\n", "\n") == MAIL.text
    assert page.get_content().replace("\r\n", "\n") == MAIL.html
    # The HTML part is what was composed: escaped markup, never live elements.
    assert "<img" not in page.get_content()
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;" in page.get_content()
    assert str(message["Subject"]) == MAIL.subject
    assert message["From"].addresses[0].display_name == "Northwind Coffee, Inc."
    assert message["From"].addresses[0].addr_spec == MAIL.sender
    assert str(message["To"]) == "ann@example.org"
    assert message["Message-ID"] == "<transcript-0123abcd@chat.example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert parsedate_to_datetime(message["Date"]).utcoffset() is not None
    assert message["Bcc"] is None
    # On the wire: 7-bit headers (RFC 2047 words for the non-ASCII subject).
    headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()
    assert not received.tls


async def test_starttls_and_tls_from_the_first_byte_with_the_servers_ca_and_a_login(
    certificate: Certificate,
) -> None:
    users = {"chat@example.org": "s3cret pass"}
    async with smtp_server(starttls=certificate, users=users) as server:
        upgraded = SmtpTranscriptMailer(
            settings(
                server.port,
                tls="starttls",
                ca_bundle=str(certificate.cert),
                username="chat@example.org",
                password="s3cret pass",
            )
        )
        assert (await upgraded.send(MAIL)).ok
        [received] = await server.wait_for(1)
    assert (received.tls, received.login) == (True, "chat@example.org")

    async with smtp_server(implicit_tls=certificate) as server:
        smtps = SmtpTranscriptMailer(
            settings(server.port, tls="tls", ca_bundle=str(certificate.cert))
        )
        assert (await smtps.send(MAIL)).ok
        [received] = await server.wait_for(1)
    assert received.tls
    assert received.message.get_content_type() == "multipart/alternative"


async def test_a_certificate_nobody_vouches_for_or_a_plain_server_is_not_sent_to(
    certificate: Certificate,
) -> None:
    async with smtp_server(implicit_tls=certificate) as server:
        # The system's CAs do not know this certificate.
        outcome = await SmtpTranscriptMailer(settings(server.port, tls="tls")).send(MAIL)
        assert server.received == []
    assert outcome.error is not None
    assert not outcome.permanent

    async with smtp_server() as server:
        # STARTTLS is required: a server that does not offer it gets nothing.
        upgraded = settings(server.port, tls="starttls", ca_bundle=str(certificate.cert))
        outcome = await SmtpTranscriptMailer(upgraded).send(MAIL)
        assert server.received == []
    assert outcome.error is not None
    assert not outcome.permanent


def test_a_ca_bundle_that_cannot_be_read_stops_the_start_naming_the_setting(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(OSError, match=re.escape(f"mail.ca_bundle: cannot use {missing}")):
        SmtpTranscriptMailer(settings(25, tls="starttls", ca_bundle=str(missing)))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(OSError, match=r"mail\.ca_bundle: cannot use"):
        SmtpTranscriptMailer(settings(25, tls="tls", ca_bundle=str(garbage)))


async def test_a_wrong_login_is_a_failure_worth_retrying(certificate: Certificate) -> None:
    async with smtp_server(starttls=certificate, users={"chat": "right"}) as server:
        outcome = await SmtpTranscriptMailer(
            settings(
                server.port,
                tls="starttls",
                ca_bundle=str(certificate.cert),
                username="chat",
                password="wrong",
            )
        ).send(MAIL)
        assert server.received == []
    assert outcome.error is not None
    assert outcome.error.startswith("login refused: 535")
    assert not outcome.permanent


async def test_a_refused_recipient_is_permanent_for_5xx_and_temporary_for_4xx() -> None:
    refuse = {
        "ann@example.org": "550 5.1.1 <ann@example.org>: Recipient address rejected",
        "bob@example.org": "450 4.2.0 <BOB@example.org>: mailbox busy, try later",
    }
    async with smtp_server(refuse=refuse) as server:
        mailer = SmtpTranscriptMailer(settings(server.port))
        gone = await mailer.send(MAIL)
        busy = await mailer.send(dataclasses.replace(MAIL, to="bob@example.org"))
        assert server.received == []

    assert gone.permanent
    assert gone.error == "recipient refused: 550 5.1.1 <<recipient>>: Recipient address rejected"
    assert not busy.permanent
    assert busy.error is not None
    assert busy.error.startswith("recipient refused: 450")
    # The address is never in an outcome, whatever case the server quotes it in.
    assert "bob@example.org" not in busy.error.lower()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_no_server_or_a_silent_one_is_a_failure_worth_retrying() -> None:
    async with smtp_server() as server:
        port = server.port
    # Nobody listens there any more.
    refused = await SmtpTranscriptMailer(settings(port)).send(MAIL)
    assert refused.error is not None
    assert not refused.permanent

    async with silent_server() as silent_port:
        started = asyncio.get_running_loop().time()
        timed_out = await SmtpTranscriptMailer(settings(silent_port, timeout=0.5)).send(MAIL)
        took = asyncio.get_running_loop().time() - started
    assert timed_out.error is not None
    assert not timed_out.permanent
    assert took < 3.0
