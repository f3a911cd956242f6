"""``SmtpTranscriptMailer``: the ``business.transcript_mail_ports.TranscriptMailer``
that sends a transcript through an SMTP server with aiosmtplib.

It lives in ``presentation``, beside the web edge, because this layer is where the
engine speaks Internet protocols to the outside world other than XMPP (HTTP in, and
out for webhooks); the composition root only wires it. It needs nothing of the web app.

The message is ``multipart/alternative``: the plain text first, then the HTML (clients
show the last part they can), both UTF-8. Its Message-ID is made from the outbox id, so
a transcript sent again after a crash is the same message to the receiver. One
connection per mail: transcripts are few, and a held connection would need keeping
alive. Each attempt as a whole is bounded by ``MailSettings.timeout``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from business.mail_settings import MailSettings
from business.transcript_mail_ports import MailOutcome, TranscriptMail


def transcript_message(mail: TranscriptMail) -> EmailMessage:
    """The RFC 5322 message of ``mail``."""
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = Address(display_name=mail.sender_name, addr_spec=mail.sender)
    message["To"] = Address(addr_spec=mail.to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = f"<transcript-{mail.reference}@{mail.sender.rpartition('@')[2]}>"
    # RFC 3834: made by a machine, so vacation responders and the like stay quiet.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text, subtype="plain", charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    return message


class SmtpTranscriptMailer:
    def __init__(self, settings: MailSettings) -> None:
        if settings.host is None:
            raise ValueError("mail is off: no host in the mail settings")
        self._settings = settings
        self._host = settings.host
        self._tls: ssl.SSLContext | None = None
        if settings.tls != "none":
            try:
                self._tls = ssl.create_default_context(cafile=settings.ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                # At start-up, naming the setting: not at the first transcript.
                raise OSError(
                    f"mail.ca_bundle: cannot use {settings.ca_bundle}: {exc.strerror or exc}"
                ) from None

    async def send(self, mail: TranscriptMail) -> MailOutcome:
        settings = self._settings
        try:
            async with asyncio.timeout(settings.timeout):
                await aiosmtplib.send(
                    transcript_message(mail),
                    hostname=self._host,
                    port=settings.effective_port,
                    username=settings.username,
                    password=settings.password,
                    use_tls=settings.tls == "tls",
                    start_tls=settings.tls == "starttls",
                    tls_context=self._tls,
                    timeout=settings.timeout,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusals = exc.recipients
            permanent = bool(refusals) and all(r.code >= 500 for r in refusals)
            text = "; ".join(f"{r.code} {r.message}" for r in refusals)
            return _failure(f"recipient refused: {text}", mail, permanent=permanent)
        except aiosmtplib.SMTPAuthenticationError as exc:
            # The operator's credentials, not this mail: worth retrying once fixed.
            return _failure(f"login refused: {exc.code} {exc.message}", mail)
        except aiosmtplib.SMTPResponseException as exc:
            return _failure(f"{exc.code} {exc.message}", mail, permanent=exc.code >= 500)
        except TimeoutError:
            return _failure(f"no answer within {settings.timeout:g} seconds", mail)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return _failure(str(exc) or type(exc).__name__, mail)
        return MailOutcome()


def _failure(error: str, mail: TranscriptMail, *, permanent: bool = False) -> MailOutcome:
    # Servers quote the recipient in their answers; outcomes are logged and stored.
    redacted = re.sub(re.escape(mail.to), "<recipient>", error, flags=re.IGNORECASE)
    return MailOutcome(error=redacted[:500], permanent=permanent)
