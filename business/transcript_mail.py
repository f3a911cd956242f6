"""A transcript e-mail, composed: who it is from and to, its subject, and the same
transcript as plain text (``business.transcripts``) and as HTML
(``business.transcript_html``). A pure function; the mailer only encodes and sends it.

The few words it writes are the constants below, ready for translation.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from business.transcript_html import transcript_to_html
from business.transcript_mail_ports import QueuedTranscript, TranscriptMail
from business.transcripts import Transcript

SUBJECT = "Your conversation with {tenant}"
INTRO = "Here is the transcript of your conversation with {tenant}."
ANSWER_SUBJECT = "Answer to your message to {tenant}"
ANSWER_INTRO = (
    "{tenant} answered the message you left. You can also read it in the chat on our site."
)


def compose_transcript_mail(
    queued: QueuedTranscript,
    transcript: Transcript,
    *,
    tenant_name: str,
    sender: str,
    sender_name: str | None = None,
    tz: tzinfo = UTC,
) -> TranscriptMail:
    """The mail for ``queued``: from ``sender`` named ``sender_name`` (default: the
    tenant's name), to the queued address."""
    # Names become header text: one line of plain words, whatever was stored.
    tenant = _one_line(tenant_name)
    answer = queued.offline_answer
    intro = (ANSWER_INTRO if answer else INTRO).format(tenant=tenant)
    subject = (ANSWER_SUBJECT if answer else SUBJECT).format(tenant=tenant)
    return TranscriptMail(
        reference=queued.id,
        sender=sender,
        sender_name=_one_line(sender_name) if sender_name else tenant,
        to=queued.address,
        subject=subject,
        text=f"{intro}\n\n{transcript.text}",
        html=transcript_to_html(transcript, title=subject, intro=intro, tz=tz),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
