"""``OfflineAnswerMail``: the answer to an offline message (``business.offline_messages``)
goes to the address the visitor gave, queued in the transaction that stores it.

An ``EventStager`` like ``TranscriptAutoSend``: when an agent's message is stored in an
offline conversation, a mail is queued in the transcript outbox (numbered -1, -2 ... so
it never takes the place of the automatic transcript or of a visitor's request) and
``business.transcript_sending`` sends it: the conversation as the visitor sees it, under
a subject that says it is the answer. An answer stored while an earlier one's mail has
not been attempted yet rides with that mail (it is composed when it is sent), so a
burst of lines is one mail, not one each. Only changes of offline conversations with an
agent's message cost a read. Answers are mailed only while the visitor has not come back
(``Conversation.offline_message_id``: they have written nothing since their offline
message); once they chat, the answers reach them in the chat, and another offline message
starts mailing again. A ``ConversationNotifier`` too: after a commit that queued
one it wakes its listeners (the sender) at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from business.conversation import Conversation
from business.events import DomainEvent, MessagePosted
from business.model import ParticipantKind
from business.ports import UnitOfWork
from business.transcript_mail_ports import AUTOMATIC, MailStatus, QueuedTranscript
from business.transcript_requests import known_email, new_mail_id


class OfflineAnswerMail:
    def __init__(self) -> None:
        self._staged = False
        self._listeners: list[Callable[[], None]] = []

    def on_committed(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each publication that may have queued an answer."""
        self._listeners.append(listener)

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        if not conversation.offline or conversation.offline_message_id is None:
            return  # not an offline message, or the visitor is back in the chat
        answer = next(
            (
                e
                for e in events
                if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
            ),
            None,
        )
        if answer is None:
            return
        address = known_email(conversation)
        if address is None:
            return
        # Locked: on PostgreSQL (READ COMMITTED) the sender could otherwise claim a
        # pending mail read here as not attempted, and compose it from what is committed,
        # before this answer commits: the answer would be in no mail. Locked, the claim
        # waits for this commit (and composes with the answer), or it came first and this
        # read sees the mail attempted and queues another. SQLite has one writer anyway.
        stored = await uow.transcript_mails.list_for_conversation(conversation.id, for_update=True)
        earlier = [m for m in stored if m.offline_answer]
        if any(m.status is MailStatus.PENDING and m.attempts == 0 for m in earlier):
            return  # not composed yet: this answer goes with it
        await uow.transcript_mails.add(
            QueuedTranscript(
                id=new_mail_id(),
                tenant_id=conversation.tenant_id,
                conversation_id=conversation.id,
                number=min((m.number for m in earlier), default=AUTOMATIC) - 1,
                address=address,
                created_at=answer.created_at,
                next_attempt_at=answer.created_at,
            )
        )
        # Set before the commit, read after it: a rolled-back answer costs the sender
        # one look for nothing.
        self._staged = True

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        if not self._staged:
            return
        self._staged = False
        for listener in self._listeners:
            listener()
