"""Corrections: an agent rewrites their last message (XEP-0308 Last Message
Correction), and the visitor sees the new text in its place.

The message stays stored as it was; the correction is a visible event of its own,
``message.updated``, naming the message it replaces (its event id), so a visitor who
syncs later gets both and applies them in order. Only the agent's own last message in
the conversation can be corrected (what XEP-0308 allows, and what the visitor can still
relate to); a correction of a correction names the same message again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from business import commands as c
from business.access import agent_conversation
from business.conversation import Change, ChangeBuilder, Conversation
from business.errors import InvalidInput, InvalidTransition
from business.events import MessagePosted, MessageUpdated
from business.model import EventId, ParticipantKind, new_id
from business.ports import Clock
from business.redaction_policy import RedactionPolicy
from business.transactions import Transactions, retrying
from business.validation import Limits, check_text

logger = logging.getLogger(__name__)

NOT_THE_LAST = "only your last message in this chat can be corrected"
_LOOK_AHEAD = 200
"""Events after the corrected message searched for a later one by the same agent; a
message with more after it is not anybody's last one in any sense a visitor sees."""


def correct(
    conv: Conversation, original: MessagePosted, *, id: EventId, text: str, now: datetime
) -> Change:
    """``original``'s text replaced by ``text`` (a visible ``message.updated``). Like a
    message of the chat's own agent, it does not wait to be delivered to them: it came
    from them."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    builder = ChangeBuilder(conv)
    update = builder.add(
        lambda seq, pos: MessageUpdated(
            conversation_id=conv.id,
            seq=seq,
            pos=pos,
            created_at=now,
            id=id,
            replaces=original.id,
            sender=original.sender,
            text=text,
        )
    )
    own = original.sender.kind is ParticipantKind.AGENT and original.sender.id == conv.agent_id
    if own and conv.agent_delivered_pos == conv.last_pos:
        builder.update(agent_delivered_pos=update.pos)
    return builder.done()


class CorrectionService:
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

    async def correct_agent_message(self, cmd: c.CorrectAgentMessage) -> MessageUpdated:
        """Replace the text of the agent's last message in their open conversation, the
        one stored with ``cmd.replaces`` as ``client_msg_id``. Anything else (unknown,
        somebody else's, or an earlier message of theirs) is ``InvalidInput``; an empty
        text too (XEP-0308 would make that a retraction, which the visitor protocol has
        not got)."""
        text = check_text(cmd.text, self._limits, "a correction")
        return await retrying(lambda: self._correct(cmd, text))

    async def _correct(self, cmd: c.CorrectAgentMessage, text: str) -> MessageUpdated:
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            if not conv.is_open:
                raise InvalidTransition("this conversation has ended")
            original = await tx.events.get_message_by_client_id(conv.id, cmd.replaces)
            if not isinstance(original, MessagePosted) or original.sender.id != cmd.agent_id:
                raise InvalidInput(NOT_THE_LAST)
            later = await tx.events.list_after(conv.id, original.seq, _LOOK_AHEAD)
            if len(later) >= _LOOK_AHEAD or any(
                isinstance(event, MessagePosted) and event.sender.id == cmd.agent_id
                for event in later
            ):
                raise InvalidInput(NOT_THE_LAST)
            text = await self._redaction.redact(tx, conv.tenant_id, text, conv.id)
            change = correct(conv, original, id=EventId(new_id()), text=text, now=self._clock.now())
            await tx.apply(change)
            await tx.commit()
        (update,) = change.events
        assert isinstance(update, MessageUpdated)
        logger.info("conversation %s: agent %s corrected a message", conv.id, cmd.agent_id)
        return update
