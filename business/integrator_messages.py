"""Messages from integrators: a bot or the system writes into an open conversation.

The message is stored and published like any other (``business.conversation.post``):
the visitor gets it with ``from.kind`` ``bot`` or ``system``, the agents in the chat get
it named (the XMPP bridge prefixes its sender), and it takes the next ``seq``. It is
idempotent on the caller's ``client_msg_id`` by the visitor's rules: a retry returns
the message stored the first time, even once the conversation has ended, and publishes
nothing; an id already used by somebody else's message in that conversation is refused
rather than answered with their message.

A bot's message may carry quick replies as the rules bot's do: the aggregate builds
every message the same way (``business.changes.ChangeBuilder.message``), which is also
where a message other than a bot's is refused them.
"""

from __future__ import annotations

import logging

from business.access import tenant_conversation
from business.bot_config import check_quick_replies
from business.bot_model import QuickReply
from business.errors import InvalidInput
from business.events import MessagePosted
from business.integrator_commands import PostIntegratorMessage
from business.model import EventId, Participant, new_id
from business.ports import Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.transactions import Transactions, retrying
from business.validation import (
    Limits,
    check_actor,
    check_attachments,
    check_client_msg_id,
    check_text,
)

logger = logging.getLogger(__name__)

RESERVED_CLIENT_ID_PREFIXES = ("api:", "xmpp:")
"""The API channel's provider message ids (``business.api_channel``) and the XMPP
bridge's agent message ids (``xmpp_bridge.markers``): an integrator's message under one
of them could be taken for the visitor's or the agent's."""


class IntegratorMessageService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._redaction = redaction or RedactionPolicy()
        self._clock = clock
        self._limits = limits

    async def post(self, cmd: PostIntegratorMessage) -> MessagePosted:
        """Store the message once (``InvalidTransition`` if the conversation has ended and
        this is no retry); returns it as stored."""
        sender = check_actor(cmd.sender)
        check_client_msg_id(cmd.client_msg_id)
        if cmd.client_msg_id.startswith(RESERVED_CLIENT_ID_PREFIXES):
            raise InvalidInput(
                "client_msg_id must not start with "
                + " or ".join(repr(p) for p in RESERVED_CLIENT_ID_PREFIXES)
                + " (the engine's channels use them)"
            )
        if cmd.attachments:
            check_attachments(cmd.attachments, self._limits)
        if cmd.text or not (cmd.attachments or cmd.rich):
            check_text(cmd.text, self._limits)  # a file or rich content may go alone
        replies = check_quick_replies(cmd.quick_replies)
        if replies and cmd.rich is not None:
            raise InvalidInput("give quick_replies or rich, not both")
        # A retry racing the first attempt loses at the unique key on commit (Conflict)
        # and, decided again, finds the stored message.
        return await retrying(lambda: self._post(cmd, sender, replies))

    async def _post(
        self,
        cmd: PostIntegratorMessage,
        sender: Participant,
        replies: tuple[QuickReply, ...],
    ) -> MessagePosted:
        async with self._tx() as tx:
            conv = await tenant_conversation(
                tx, cmd.tenant_id, cmd.conversation_id, for_update=True
            )
            stored = await tx.events.get_message_by_client_id(conv.id, cmd.client_msg_id)
            if stored is not None:
                if not isinstance(stored, MessagePosted) or stored.sender.kind is not sender.kind:
                    raise InvalidInput("client_msg_id is already used in this conversation")
                return stored
            redact = await field_redactor(self._redaction, tx, conv.tenant_id, conv.id)
            change = conv.post(
                id=EventId(new_id()),
                sender=sender,
                text=redact.text(cmd.text, "a message"),
                client_msg_id=cmd.client_msg_id,
                now=self._clock.now(),
                attachments=cmd.attachments,
                quick_replies=redact.quick_replies(replies),
                rich=redact.rich(cmd.rich),
            )
            await tx.apply(change)
            await tx.commit()
        (message,) = change.events
        assert isinstance(message, MessagePosted)
        logger.info("conversation %s: message by the integrator as %s", conv.id, sender.kind)
        return message
