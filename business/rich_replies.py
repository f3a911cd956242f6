"""The visitor's answer to a rich message: the choice is checked against what that
message offered, then stored as the visitor's message like any other (through
``business.messaging``: idempotent on ``client_msg_id``, heard by the bot, bringing a
held chat back), its text the chosen labels and its ``reply_to`` the payloads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from business import commands as c
from business.access import visitor_conversation
from business.errors import InvalidInput
from business.events import MessagePosted
from business.messaging import MessagingService
from business.model import ConversationId, VisitorId
from business.rich import MAX_ITEMS, choose
from business.transactions import Transactions
from business.validation import check_client_msg_id

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerRichMessage:
    visitor_id: VisitorId
    conversation_id: ConversationId
    client_msg_id: str
    seq: int
    """The rich message answered, by its ``seq``."""
    payloads: Sequence[str]
    """The chosen payloads: one, or several for a list picker that allows it."""


class RichReplyService:
    def __init__(self, *, transactions: Transactions, messaging: MessagingService) -> None:
        self._tx = transactions
        self._messaging = messaging

    async def answer(self, cmd: AnswerRichMessage) -> MessagePosted:
        """Store the visitor's choice; ``InvalidInput`` when message ``seq`` of their
        conversation is no rich message or did not offer the payloads. Stored messages
        never change, so the check holds when the answer is stored a moment later."""
        check_client_msg_id(cmd.client_msg_id)
        if len(cmd.payloads) > MAX_ITEMS:
            raise InvalidInput(f"reply_to.payload has at most {MAX_ITEMS} entries")
        async with self._tx.read() as tx:
            conv = await visitor_conversation(
                tx, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
            found = await tx.events.list_after(conv.id, cmd.seq - 1, 1) if cmd.seq > 0 else []
        message = found[0] if found and found[0].seq == cmd.seq else None
        if not isinstance(message, MessagePosted) or message.rich is None:
            raise InvalidInput(f"reply_to.seq: event {cmd.seq} is no rich message")
        reply, text = choose(message.rich, cmd.seq, cmd.payloads)
        logger.debug("conversation %s: the visitor answers message %d", conv.id, cmd.seq)
        return await self._messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=cmd.visitor_id,
                conversation_id=cmd.conversation_id,
                client_msg_id=cmd.client_msg_id,
                text=text,
                reply_to=reply,
            )
        )
