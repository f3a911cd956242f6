"""Internal notes: what agents write in a conversation for each other, never for the
visitor.

A note is stored in the conversation as an event only the agent desk sees (it takes a
``pos`` and no ``seq``): the agents and supervisors in the chat get it, it is in the
history a later agent is offered, and the visitor's stream, live or synced from 0, never
shows it.
"""

from __future__ import annotations

import logging

from business import commands as c
from business.access import any_conversation, in_the_chat
from business.events import NoteAdded
from business.model import EventId, new_id
from business.ports import Clock
from business.redaction_policy import RedactionPolicy
from business.transactions import Transactions, retrying
from business.validation import Limits, check_text

logger = logging.getLogger(__name__)


class NoteService:
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

    async def add_note(self, cmd: c.AddNote) -> NoteAdded:
        """Store a note in the agent's open conversation; an empty one is refused."""
        text = check_text(cmd.text.strip(), self._limits, "note")
        return await retrying(lambda: self._add(cmd, text))

    async def _add(self, cmd: c.AddNote, text: str) -> NoteAdded:
        async with self._tx() as tx:
            conv = await any_conversation(tx, cmd.conversation_id, for_update=True)
            agent = in_the_chat(conv, cmd.agent_id)
            text = await self._redaction.redact(tx, conv.tenant_id, text, conv.id)
            change = conv.add_note(id=EventId(new_id()), by=agent, text=text, now=self._clock.now())
            await tx.apply(change)
            await tx.commit()
        (note,) = change.events
        assert isinstance(note, NoteAdded)
        logger.info("conversation %s: note by agent %s", conv.id, cmd.agent_id)
        return note
