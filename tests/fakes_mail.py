"""In-memory fakes of the transcript mail ports: the outbox (``tests.fakes`` wires it
into ``FakeUnitOfWork``) and a mailer that records what it is given."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime

from business.conversation import Conversation
from business.errors import Conflict
from business.model import ConversationId
from business.transcript_mail_ports import (
    AUTOMATIC,
    MailOutcome,
    MailStatus,
    QueuedTranscript,
    TranscriptMail,
    TranscriptMailId,
)

StoredMails = dict[TranscriptMailId, QueuedTranscript]


class FakeTranscriptMails:
    def __init__(
        self,
        mails: StoredMails,
        conversations: Mapping[ConversationId, Conversation],
        *,
        read_only: bool = False,
    ) -> None:
        self._conversations = conversations
        self._mails = mails
        self._read_only = read_only

    async def add(self, mail: QueuedTranscript) -> None:
        self._refuse_if_read_only()
        taken = any(
            m.conversation_id == mail.conversation_id and m.number == mail.number
            for m in self._mails.values()
        )
        if taken or mail.id in self._mails:
            raise Conflict("a unique key was taken meanwhile")
        self._mails[mail.id] = mail

    async def last_request(self, conversation_id: ConversationId) -> int:
        numbers = [
            m.number
            for m in self._mails.values()
            if m.conversation_id == conversation_id and m.number > AUTOMATIC
        ]
        return max(numbers, default=AUTOMATIC)

    async def list_for_conversation(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Sequence[QueuedTranscript]:
        found = [m for m in self._mails.values() if m.conversation_id == conversation_id]
        return sorted(found, key=lambda m: m.number)

    async def due(self, now: datetime, limit: int) -> Sequence[QueuedTranscript]:
        found = [
            m
            for m in self._mails.values()
            if m.status is MailStatus.PENDING and m.next_attempt_at <= now
        ]
        return sorted(found, key=lambda m: (m.next_attempt_at, m.id))[: max(limit, 0)]

    async def claim(self, mail: QueuedTranscript, until: datetime) -> bool:
        self._refuse_if_read_only()
        if not self._unchanged(mail):
            return False
        self._mails[mail.id] = dataclasses.replace(
            self._mails[mail.id], attempts=mail.attempts + 1, next_attempt_at=until
        )
        return True

    async def finish(self, claimed: QueuedTranscript, outcome: QueuedTranscript) -> bool:
        self._refuse_if_read_only()
        if not self._unchanged(claimed):
            return False
        self._mails[claimed.id] = dataclasses.replace(
            self._mails[claimed.id],
            status=outcome.status,
            next_attempt_at=outcome.next_attempt_at,
            finished_at=outcome.finished_at,
            last_error=outcome.last_error,
        )
        return True

    async def purge(self, finished_before: datetime, limit: int) -> int:
        self._refuse_if_read_only()
        old = sorted(
            (
                m
                for m in self._mails.values()
                if m.status is not MailStatus.PENDING
                and m.finished_at is not None
                and m.finished_at < finished_before
                and self._ended_before(m.conversation_id, finished_before)
            ),
            key=lambda m: m.finished_at or finished_before,
        )[: max(limit, 0)]
        for m in old:
            del self._mails[m.id]
        return len(old)

    def _ended_before(self, conversation_id: ConversationId, moment: datetime) -> bool:
        conv = self._conversations.get(conversation_id)
        return conv is None or (conv.ended_at is not None and conv.ended_at < moment)

    def _unchanged(self, mail: QueuedTranscript) -> bool:
        stored = self._mails.get(mail.id)
        return (
            stored is not None
            and stored.status is MailStatus.PENDING
            and stored.attempts == mail.attempts
            and stored.next_attempt_at == mail.next_attempt_at
        )

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot write")


class RecordingMailer:
    """Accepts every mail unless told to answer with ``outcomes`` first (in turn)."""

    def __init__(self, *outcomes: MailOutcome) -> None:
        self.sent: list[TranscriptMail] = []
        """Every mail it was given, accepted or not."""
        self._outcomes = list(outcomes)
        self._given = asyncio.Condition()

    async def send(self, mail: TranscriptMail) -> MailOutcome:
        await self._record(mail)
        return self._outcomes.pop(0) if self._outcomes else MailOutcome()

    async def _record(self, mail: TranscriptMail) -> None:
        async with self._given:
            self.sent.append(mail)
            self._given.notify_all()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Until it was given ``count`` mails in all."""
        async with asyncio.timeout(timeout), self._given:
            await self._given.wait_for(lambda: len(self.sent) >= count)
