"""The outbox of transcripts to e-mail
(``business.transcript_mail_ports.TranscriptMailRepository``), in SQLAlchemy Core on the
unit of work's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, func, insert, or_, select, update

from business.model import ConversationId, TenantId
from business.transcript_mail_ports import (
    AUTOMATIC,
    MailStatus,
    QueuedTranscript,
    TranscriptMailId,
)
from data.models import ConversationRow, TranscriptMailRow
from data.repositories.base import QUEUE_COUNTS, SqlContext

_M: Table = TranscriptMailRow.__table__  # type: ignore[assignment]
_C: Table = ConversationRow.__table__  # type: ignore[assignment]
_INSERT = insert(_M)
MAIL_INSERTS = QUEUE_COUNTS + 1
"""After everything else a transaction queues (no key points at those rows)."""
_PENDING = MailStatus.PENDING.value


def _mail(row: Any) -> QueuedTranscript:
    return QueuedTranscript(
        id=TranscriptMailId(row.id),
        tenant_id=TenantId(row.tenant_id),
        conversation_id=ConversationId(row.conversation_id),
        number=row.number,
        address=row.address,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        status=MailStatus(row.status),
        attempts=row.attempts,
        finished_at=row.finished_at,
        last_error=row.last_error,
    )


class SqlTranscriptMailRepository:
    def __init__(self, ctx: SqlContext) -> None:
        self._ctx = ctx

    async def add(self, mail: QueuedTranscript) -> None:
        # Queued with the transaction's other writes: staged in the transaction that
        # ends a conversation, it adds no trip of its own (on SQLite it goes to the
        # writer thread with the rest).
        self._ctx.queue(
            _INSERT,
            {
                "id": mail.id,
                "tenant_id": mail.tenant_id,
                "conversation_id": mail.conversation_id,
                "number": mail.number,
                "address": mail.address,
                "created_at": mail.created_at,
                "status": mail.status.value,
                "attempts": mail.attempts,
                "next_attempt_at": mail.next_attempt_at,
                "finished_at": mail.finished_at,
                "last_error": mail.last_error,
            },
            order=MAIL_INSERTS,
            taken_is_conflict=True,
        )

    async def last_request(self, conversation_id: ConversationId) -> int:
        # Offline answers are numbered below AUTOMATIC (``business.offline_answers``).
        stmt = select(func.coalesce(func.max(_M.c.number), AUTOMATIC)).where(
            _M.c.conversation_id == conversation_id, _M.c.number > AUTOMATIC
        )
        return int((await self._ctx.execute(stmt)).scalar_one())

    async def list_for_conversation(
        self, conversation_id: ConversationId, *, for_update: bool = False
    ) -> Sequence[QueuedTranscript]:
        stmt = select(_M).where(_M.c.conversation_id == conversation_id).order_by(_M.c.number)
        if for_update:
            stmt = stmt.with_for_update()
        return [_mail(row) for row in await self._ctx.execute(stmt)]

    async def due(self, now: datetime, limit: int) -> Sequence[QueuedTranscript]:
        stmt = (
            select(_M)
            .where(_M.c.status == _PENDING, _M.c.next_attempt_at <= now)
            .order_by(_M.c.next_attempt_at, _M.c.id)
            .limit(max(limit, 0))
        )
        return [_mail(row) for row in await self._ctx.execute(stmt)]

    async def claim(self, mail: QueuedTranscript, until: datetime) -> bool:
        stmt = (
            update(_M)
            .where(*_unchanged(mail))
            .values(attempts=mail.attempts + 1, next_attempt_at=until)
        )
        return bool((await self._ctx.execute(stmt)).rowcount == 1)

    async def finish(self, claimed: QueuedTranscript, outcome: QueuedTranscript) -> bool:
        stmt = (
            update(_M)
            .where(*_unchanged(claimed))
            .values(
                status=outcome.status.value,
                next_attempt_at=outcome.next_attempt_at,
                finished_at=outcome.finished_at,
                last_error=outcome.last_error,
            )
        )
        return bool((await self._ctx.execute(stmt)).rowcount == 1)

    async def purge(self, finished_before: datetime, limit: int) -> int:
        oldest = (
            select(_M.c.id)
            .where(
                _M.c.status != _PENDING,
                _M.c.finished_at < finished_before,
                # Their conversation ended before too (or is gone): while it may still
                # ask for a transcript, its rows are what its limits count.
                ~_M.c.conversation_id.in_(
                    select(_C.c.id).where(
                        or_(_C.c.ended_at.is_(None), _C.c.ended_at >= finished_before)
                    )
                ),
            )
            .order_by(_M.c.finished_at)
            .limit(max(limit, 0))
        )
        result = await self._ctx.execute(delete(_M).where(_M.c.id.in_(oldest)))
        return int(result.rowcount)


def _unchanged(mail: QueuedTranscript) -> tuple[Any, ...]:
    return (
        _M.c.id == mail.id,
        _M.c.status == _PENDING,
        _M.c.attempts == mail.attempts,
        _M.c.next_attempt_at == mail.next_attempt_at,
    )
