"""``TranscriptAutoSend``: the transcript queued in the transaction that ends a
conversation, when its tenant sends them automatically and an address is known.

An ``EventStager`` (``business.publishing``), like the report stager: the outbox row
exists exactly when the end is stored, whoever ends the chat (visitor, agent, bot,
integrator, inactivity). Only a change that ends a conversation costs anything: one read
of the tenant, which the data layer caches. It is also a ``ConversationNotifier``, so
that after a commit that queued one it wakes its listeners (the sender) at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from business.conversation import Conversation
from business.events import DomainEvent, StateChanged
from business.model import ConversationState
from business.outbox_wake import OutboxWake
from business.ports import UnitOfWork
from business.transcript_mail_ports import AUTOMATIC, QueuedTranscript
from business.transcript_requests import known_email, new_mail_id

_ENDED = ConversationState.ENDED


class TranscriptAutoSend(OutboxWake):
    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        if conversation.state is not _ENDED:
            return
        ended = next((e for e in events if isinstance(e, StateChanged) and e.state is _ENDED), None)
        if ended is None:
            return  # a wrap-up after the end, say: the end queued it already
        tenant = await uow.tenants.get(conversation.tenant_id)
        if tenant is None or not tenant.transcript_auto_send:
            return
        address = known_email(conversation)
        if address is None:
            return
        await uow.transcript_mails.add(
            QueuedTranscript(
                id=new_mail_id(),
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.id,
                number=AUTOMATIC,
                address=address,
                created_at=ended.created_at,
                next_attempt_at=ended.created_at,
            )
        )
        self.staged()
