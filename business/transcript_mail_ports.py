"""Transcripts by e-mail: the outbox of transcripts to send (``UnitOfWork.transcript_mails``)
and the mailer that sends one, with the values they take and give.

A transcript to send is a row of the outbox, written in the transaction that decides it
(the visitor's request, or the end of a conversation whose tenant sends them
automatically), so an acknowledged request survives a restart. The mail itself is made
when it is sent, from what is stored then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NewType, Protocol

from business.model import ConversationId, TenantId

TranscriptMailId = NewType("TranscriptMailId", str)

AUTOMATIC: Final = 0
"""The ``number`` of the transcript sent automatically at the end (one per conversation);
a visitor's requests are numbered from 1, the mails of an offline message's answers from
-1 down (``business.offline_answers``)."""


class MailStatus(StrEnum):
    PENDING = "pending"
    """Not sent yet: due at ``next_attempt_at`` (or being attempted until then)."""
    SENT = "sent"
    """The SMTP server accepted it."""
    FAILED = "failed"
    """Given up: the server refused it for good, or every attempt failed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedTranscript:
    """One transcript to send to one address. Invariant: (``conversation_id``,
    ``number``) is unique, which caps a conversation's transcripts and keeps the
    automatic one to one."""

    id: TranscriptMailId
    tenant_id: TenantId
    conversation_id: ConversationId
    number: int
    address: str
    created_at: datetime
    next_attempt_at: datetime
    status: MailStatus = MailStatus.PENDING
    attempts: int = 0
    """Attempts begun (counted when one begins, so a crash mid-attempt counts)."""
    finished_at: datetime | None = None
    last_error: str | None = None

    @property
    def automatic(self) -> bool:
        return self.number == AUTOMATIC

    @property
    def offline_answer(self) -> bool:
        """The answer to an offline message, not a transcript the visitor asked for."""
        return self.number < AUTOMATIC


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptMail:
    """A composed transcript e-mail: plain text and HTML of the same content."""

    reference: str
    """Stable across attempts (the outbox id): the mailer makes the Message-ID from it,
    so a mail sent twice after a crash is recognisably the same one."""
    sender: str
    sender_name: str
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MailOutcome:
    """What one attempt came to: accepted (no ``error``), or why not."""

    error: str | None = None
    permanent: bool = False
    """The server refused it in a way a retry cannot change (a 5xx answer to the
    recipient or the message)."""

    @property
    def ok(self) -> bool:
        return self.error is None


class TranscriptMailer(Protocol):
    """Sends one transcript e-mail. Implementations never raise for what the server or
    the network does (refused, timed out, unreachable): that is a ``MailOutcome`` with an
    ``error``, which names no address."""

    async def send(self, mail: TranscriptMail) -> MailOutcome: ...


class TranscriptMailRepository(Protocol):
    """The outbox of transcripts."""

    async def add(self, mail: QueuedTranscript) -> None:
        """Store a new one in this unit of work; a taken (conversation, number) is
        ``Conflict`` (here or at the latest at commit)."""
        ...

    async def last_request(self, conversation_id: ConversationId) -> int:
        """The highest ``number`` of the conversation's requests (0: none)."""
        ...

    async def list_for_conversation(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Sequence[QueuedTranscript]:
        """By ``number``; ``for_update``: locked until the unit of work ends (a claim of
        one of them waits for it)."""
        ...

    async def due(self, now: datetime, limit: int) -> Sequence[QueuedTranscript]:
        """Pending ones with ``next_attempt_at <= now``, soonest first, at most ``limit``."""
        ...

    async def claim(self, mail: QueuedTranscript, until: datetime) -> bool:
        """Begin an attempt: count it and hold the transcript until ``until``, if it is
        still pending and unchanged since ``mail`` was read (compare-and-set on
        ``attempts`` and ``next_attempt_at``); whether this caller got it."""
        ...

    async def finish(self, claimed: QueuedTranscript, outcome: QueuedTranscript) -> bool:
        """Store ``outcome``'s status, ``next_attempt_at``, ``finished_at`` and
        ``last_error`` if the row is still as ``claimed`` left it; whether it was."""
        ...

    async def purge(self, finished_before: datetime, limit: int) -> int:
        """Remove at most ``limit`` transcripts finished (sent or given up) before that
        time, oldest first; how many."""
        ...
