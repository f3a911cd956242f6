"""Sending the transcripts in the outbox: ``TranscriptMailSender`` attempts those due,
``TranscriptMailDispatcher`` runs it in the background.

An attempt first claims its row (compare-and-set: one attempt at a time, in any number
of engine processes), holding it for ``MailSettings.lease`` seconds; then reads the
conversation and composes the mail outside any transaction, sends it, and stores the
outcome. A refusal for good (a 5xx answer) fails it at once; any other failure is tried
again later, after ``first_retry`` seconds and four times as long each time, until
``attempts`` were made. A process that dies mid-attempt leaves the row held until the
lease ends; then it is due again, so a transcript may arrive twice but is never lost.
Addresses are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from datetime import datetime, timedelta

from business.cluster_jobs import in_one_process
from business.events import StoredEvent
from business.file_links import AttachmentUrl
from business.mail_settings import MailSettings
from business.ports import Clock
from business.transactions import Transactions
from business.transcript_mail import compose_transcript_mail
from business.transcript_mail_ports import (
    MailOutcome,
    MailStatus,
    QueuedTranscript,
    TranscriptMail,
    TranscriptMailer,
)
from business.transcripts import render_transcript

logger = logging.getLogger(__name__)

BATCH = 20
"""Transcripts one look takes at most; the dispatcher looks again at once after a full one."""
PURGE_BATCH = 1000
"""Transcripts one purge transaction removes at most; a full one is followed by another."""
PURGE_INTERVAL = 3600.0
"""Seconds between the dispatcher's purges of finished transcripts."""
MAX_RETRY_INTERVAL = 3600.0
GONE = "the conversation no longer exists"
_PAGE = 500
"""Events read at a time to compose a transcript."""


class TranscriptMailSender:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        mailer: TranscriptMailer | None,
        settings: MailSettings,
        attachment_url: AttachmentUrl,
    ) -> None:
        """``attachment_url``: how a mailed transcript shows files (a signed URL that
        lasts, ``FileLinks.lasting``: made when the mail is sent)."""
        self._tx = transactions
        self._attachment_url = attachment_url
        self._clock = clock
        self._mailer = mailer
        self._settings = settings

    async def send_due(self, limit: int = BATCH) -> int:
        """Attempt the transcripts due now, one after the other; how many were due. With
        no mailer (mail off) nothing is attempted and they stay queued."""
        if self._mailer is None:
            return 0
        async with self._tx.read() as tx:
            due = await tx.transcript_mails.due(self._clock.now(), limit)
        for mail in due:
            await self._attempt(self._mailer, mail)
        return len(due)

    async def purge_round(self) -> int:
        """The dispatcher's purge: skipped while another process purges the outbox."""
        return await in_one_process(self._tx, "transcript-outbox", self.purge) or 0

    async def purge(self) -> int:
        """Remove the transcripts of conversations that ended more than ``retention``
        ago, once finished (sent or given up), a batch per transaction until one comes
        back short; how many. A conversation's rows stay while it may still ask for a
        transcript (``business.transcript_requests``): they are what its limits count."""
        before = self._clock.now() - timedelta(seconds=self._settings.retention)
        removed = 0
        while True:
            async with self._tx() as tx:
                batch = await tx.transcript_mails.purge(before, PURGE_BATCH)
                await tx.commit()
            removed += batch
            if batch < PURGE_BATCH:
                break
        if removed:
            logger.info("removed %d finished transcripts from the outbox", removed)
        return removed

    async def _attempt(self, mailer: TranscriptMailer, mail: QueuedTranscript) -> None:
        now = self._clock.now()
        claimed = dataclasses.replace(
            mail,
            attempts=mail.attempts + 1,
            next_attempt_at=now + timedelta(seconds=self._settings.lease),
        )
        async with self._tx() as tx:
            got = await tx.transcript_mails.claim(mail, claimed.next_attempt_at)
            await tx.commit()
        if not got:
            return  # another process (or an earlier look) has it
        if mail.attempts >= self._settings.attempts:
            # Its last attempt was cut short (the process died while sending).
            outcome = MailOutcome(error=mail.last_error or "the last attempt did not finish")
            await self._finish(claimed, _failed(claimed, outcome, now))
            return
        composed = await self._compose(mail)
        if composed is None:
            result = MailOutcome(error=GONE, permanent=True)
        else:
            result = await mailer.send(composed)
        await self._finish(claimed, self._outcome(claimed, result, self._clock.now()))

    async def _compose(self, mail: QueuedTranscript) -> TranscriptMail | None:
        async with self._tx.read() as tx:
            conv = await tx.conversations.get(mail.conversation_id)
            tenant = await tx.tenants.get(mail.tenant_id)
            if conv is None or tenant is None:
                return None
            # Every event stored by now, page by page: not bounded by ``conv.last_pos``,
            # which may come from this process's cache while another process stored
            # the newest (an offline message's answer, say).
            events: list[StoredEvent] = []
            while page := await tx.events.list_after_pos(
                conv.id, events[-1].pos if events else 0, _PAGE
            ):
                events.extend(page)
                if len(page) < _PAGE:
                    break
        sender = self._settings.from_address
        assert sender is not None, "MailSettings require from_address with a host"
        return compose_transcript_mail(
            mail,
            render_transcript(conv, events, attachment_url=self._attachment_url),
            tenant_name=tenant.name,
            sender=sender,
            sender_name=self._settings.from_name,
        )

    def _outcome(
        self, claimed: QueuedTranscript, result: MailOutcome, now: datetime
    ) -> QueuedTranscript:
        if result.ok:
            return dataclasses.replace(
                claimed, status=MailStatus.SENT, finished_at=now, last_error=None
            )
        if result.permanent or claimed.attempts >= self._settings.attempts:
            return _failed(claimed, result, now)
        wait = min(self._settings.first_retry * 4 ** (claimed.attempts - 1), MAX_RETRY_INTERVAL)
        return dataclasses.replace(
            claimed, next_attempt_at=now + timedelta(seconds=wait), last_error=result.error
        )

    async def _finish(self, claimed: QueuedTranscript, outcome: QueuedTranscript) -> None:
        async with self._tx() as tx:
            stored = await tx.transcript_mails.finish(claimed, outcome)
            await tx.commit()
        if not stored:
            logger.warning(
                "conversation %s: transcript %s changed during its attempt; outcome not stored",
                claimed.conversation_id,
                claimed.id,
            )
        elif outcome.status is MailStatus.SENT:
            logger.info(
                "conversation %s: transcript %s sent (attempt %d)",
                claimed.conversation_id,
                claimed.id,
                claimed.attempts,
            )
        elif outcome.status is MailStatus.FAILED:
            logger.warning(
                "conversation %s: transcript %s given up after %d attempts: %s",
                claimed.conversation_id,
                claimed.id,
                claimed.attempts,
                outcome.last_error,
            )
        else:
            logger.info(
                "conversation %s: transcript %s attempt %d failed, retrying at %s: %s",
                claimed.conversation_id,
                claimed.id,
                claimed.attempts,
                outcome.next_attempt_at.isoformat(),
                outcome.last_error,
            )


def _failed(claimed: QueuedTranscript, result: MailOutcome, now: datetime) -> QueuedTranscript:
    return dataclasses.replace(
        claimed, status=MailStatus.FAILED, finished_at=now, last_error=result.error
    )


class TranscriptMailDispatcher:
    """Runs ``send_due`` when woken (a transcript was queued) and every
    ``poll_interval`` seconds otherwise (retries, rows another process queued, rows left
    by the last run)."""

    def __init__(self, sender: TranscriptMailSender, *, poll_interval: float) -> None:
        self._sender = sender
        self._interval = poll_interval
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="transcript-mail")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        # A cancellation that races with an answer can be swallowed on its way through a
        # library (asyncio.wait_for in Python 3.11 drops it when its future completes at
        # that moment, and aiosmtplib waits for answers with it): then the flag and the
        # wake end the loop at its next turn.
        self._stopping = True
        self._wake.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        next_purge = time.monotonic()
        while not self._stopping:
            # Cleared before looking: a request stored during the look wakes the next one.
            self._wake.clear()
            try:
                while await self._sender.send_due() >= BATCH and not self._stopping:
                    pass
            except Exception:
                logger.exception("could not send the transcripts due; trying again")
            if time.monotonic() >= next_purge:
                # Apart from the sending: an outbox that cannot be sent from still shrinks.
                next_purge = time.monotonic() + PURGE_INTERVAL
                try:
                    await self._sender.purge_round()
                except Exception:
                    logger.exception("could not purge the transcript outbox; trying again later")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
