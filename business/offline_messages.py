"""Offline messages: what a visitor leaves when nobody can answer now.

The widget shows an item's offline variant when its queue has no agent free (or is
closed); the visitor fills in a short form (name, e-mail, message) and it becomes an
ordinary queued conversation marked ``offline``, with the name and address in its form
(``form["email"]``: where transcripts and the answer go, ``transcript_requests``). It is
taken whatever the queue's opening hours and whoever is ready: that is its point. It
waits in the queue like any chat, so the router offers it to the first qualified agent
who becomes ready; the offer says it is an offline message, when it was left and the
address (``xmpp_bridge.texts_visitor``). The agent's answer reaches the visitor in the
widget on their next visit (their conversation, by their visitor token) and by e-mail
(``business.offline_answers``).

A retried leave is harmless: the visitor's open conversation in that queue is returned
with the message added to it once (idempotent on ``client_msg_id``), as a retried start
is. A leave while the visitor has an ordinary chat open in that queue (they gave up
waiting) goes into that chat the same way, and makes it an offline message: the name and
address are merged into its form, so the answer is mailed as promised. Answers are
mailed only while the visitor has written nothing since their latest offline message
(``Conversation.offline_message_id``): once they write in the chat, they are back and
read the answers there. A full queue still refuses (``QueueFull``): its limit guards
the desk against floods. It is taken whether or not the tenant's widget configuration
has an offline variant: integrators' own forms send it too, and it opens nothing an agent
does not choose to answer (the answer mail goes only with an agent's line).
Leaves of one visitor are serialised per process; a leave racing with that visitor's
``conversation.start`` in the same queue (they would have to send both at once) may open
a second conversation, which is harmless: both are routed.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from business import commands as c
from business.conversation import Conversation
from business.email_addresses import check_email
from business.errors import Conflict, InvalidInput, NotFound, TooLarge
from business.locks import KeyedLock
from business.messaging import MessagingService
from business.model import (
    DEFAULT_QUEUE,
    ConversationId,
    EventId,
    QueueName,
    VisitorContext,
    VisitorId,
    new_id,
)
from business.ports import Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.routing import Router
from business.starts import check_room
from business.transactions import Transactions
from business.transcript_requests import EMAIL_FIELD
from business.validation import (
    Limits,
    check_client_msg_id,
    check_context,
    check_queue_name,
    check_storable,
    check_text,
)

logger = logging.getLogger(__name__)

NAME_FIELD = "name"
MAX_NAME = 100
_ATTEMPTS = 3
"""Times a leave looks for the visitor's open conversation before it gives up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveOfflineMessage:
    """The widget's offline form, sent (``offline.leave``)."""

    visitor_id: VisitorId
    client_msg_id: str
    name: str
    email: str
    text: str
    queue: QueueName | None = None
    context: VisitorContext = field(default_factory=VisitorContext)


def check_name(name: str) -> str:
    """The visitor's name as they typed it, without surrounding blanks."""
    check_storable(name, "name")
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("name must not be empty")
    if len(name) > MAX_NAME:
        raise TooLarge(f"name is longer than {MAX_NAME} characters")
    return name


class OfflineMessageService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        router: Router,
        messaging: MessagingService,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._redaction = redaction or RedactionPolicy()
        self._clock = clock
        self._limits = limits
        self._router = router
        self._messaging = messaging
        # Two leaves of one visitor (two tabs, a retry) in this process wait for each
        # other here; across processes the queue's row lock in ``_open`` decides.
        self._visitors = KeyedLock()

    async def leave(self, cmd: LeaveOfflineMessage) -> Conversation:
        """Store the offline message as a queued conversation (or add it to the visitor's
        open one in that queue) and route it; returns the conversation. ``InvalidInput``
        / ``TooLarge`` naming the field, ``NotFound`` for an unknown queue,
        ``QueueFull`` when the queue holds its maximum."""
        check_client_msg_id(cmd.client_msg_id)
        name = check_name(cmd.name)
        email = check_email(cmd.email)
        text = check_text(cmd.text, self._limits, "message")
        check_context(cmd.context, self._limits)
        queue_name = DEFAULT_QUEUE if cmd.queue is None else check_queue_name(cmd.queue)
        async with self._visitors.hold(cmd.visitor_id):
            for _ in range(_ATTEMPTS):
                existing = await self._open_in(cmd.visitor_id, queue_name)
                if existing is not None and await self._mark(existing.id, cmd, name, email):
                    await self._messaging.send_visitor_message(
                        c.SendVisitorMessage(
                            visitor_id=cmd.visitor_id,
                            conversation_id=existing.id,
                            client_msg_id=cmd.client_msg_id,
                            text=text,
                        )
                    )
                    return await self._get(existing.id)
                opened = await self._open(cmd, queue_name, name, email, text)
                if opened is not None:
                    conversation = opened
                    break
            else:
                raise Conflict("the visitor's conversations kept changing; try again")
        logger.info(
            "conversation %s: offline message left in queue %s",
            conversation.id,
            conversation.queue,
        )
        changed = await self._router.dispatch(conversation.tenant_id, conversation.queue)
        return changed.get(conversation.id) or await self._get(conversation.id)

    async def _open_in(self, visitor_id: VisitorId, queue: QueueName) -> Conversation | None:
        async with self._tx.read() as tx:
            found = await tx.conversations.open_for_visitors([visitor_id])
        return next((conv for conv in found.get(visitor_id, ()) if conv.queue == queue), None)

    async def _mark(
        self, conversation_id: ConversationId, cmd: LeaveOfflineMessage, name: str, email: str
    ) -> bool:
        """Make the visitor's open chat an offline message with this name and address
        (an ordinary chat the visitor gave up waiting in, or an earlier offline message),
        before the message is posted: its own ``client_msg_id`` keeps the mark, and an
        answer in between is mailed already. False: it has ended since (a new one is
        opened then)."""
        async with self._tx() as tx:
            conv = await tx.conversations.get(conversation_id, for_update=True)
            if conv is None or not conv.is_open:
                return False
            if await tx.events.get_message_by_client_id(conv.id, cmd.client_msg_id):
                return True  # a retry of a leave stored already: no new mark (nor mail)
            redact = await field_redactor(self._redaction, tx, conv.tenant_id, conv.id)
            form = redact.fields({NAME_FIELD: name, EMAIL_FIELD: email}, "the offline form")
            await tx.apply(conv.left_offline(form, cmd.client_msg_id, redact.context(cmd.context)))
            await tx.commit()
        return True

    async def _get(self, conversation_id: ConversationId) -> Conversation:
        async with self._tx.read() as tx:
            conversation = await tx.conversations.get(conversation_id)
        if conversation is None:
            raise NotFound("unknown conversation")
        return conversation

    async def _open(
        self,
        cmd: LeaveOfflineMessage,
        queue_name: QueueName,
        name: str,
        email: str,
        text: str,
    ) -> Conversation | None:
        """The new conversation, or None when the visitor has one open in the queue by
        now (another engine process opened it meanwhile: add to that one instead)."""
        now = self._clock.now()
        async with self._tx() as tx:
            visitor = await tx.visitors.get(cmd.visitor_id)
            if visitor is None:
                raise NotFound("unknown visitor")
            queue = await tx.queues.get(visitor.tenant_id, queue_name, for_update=True)
            if queue is None:
                raise NotFound(f"unknown queue {queue_name!r}")
            # Whatever opens a conversation in the queue holds its row (as starts do,
            # ``business.starts``): a leave of this visitor through another process has
            # committed by now, and this statement sees it. Read before the lock only,
            # two leaves of one visitor on two processes would open two conversations.
            found = await tx.conversations.open_for_visitors([visitor.id])
            if any(conv.queue == queue.name for conv in found.get(visitor.id, ())):
                return None
            # No opening-hours check and no bot: the message waits for a person.
            check_room(queue, self._limits)
            conversation_id = ConversationId(new_id())
            redact = await field_redactor(self._redaction, tx, queue.tenant_id, conversation_id)
            text = redact.text(text, "a message")
            # The address stays whole (a contact field): the answer is mailed to it.
            form = redact.fields({NAME_FIELD: name, EMAIL_FIELD: email}, "the offline form")
            change = Conversation.open(
                id=conversation_id,
                tenant_id=queue.tenant_id,
                visitor_id=visitor.id,
                visitor_name=form[NAME_FIELD],
                queue=queue.name,
                position=queue.waiting + 1,
                now=now,
                context=redact.context(cmd.context),
                form=form,
                first_message=(EventId(new_id()), cmd.client_msg_id, text),
            )
            marked = dataclasses.replace(
                change.conversation, offline=True, offline_message_id=cmd.client_msg_id
            )
            conversation = await tx.apply(dataclasses.replace(change, conversation=marked))
            await tx.commit()
        return conversation
