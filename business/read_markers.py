"""Read markers from the agent desk: an agent's client showed the visitor's messages
(XEP-0333 ``displayed``), so the visitor sees ``read {by, up_to_seq}``.

A read is a visible event (it takes a ``seq``), stored through a batcher of its own:
markers arriving while one batch is being stored go together in the next, one
transaction for them all, and the greatest ``up_to_seq`` per conversation wins. The
message path never waits for a marker, and a burst of markers costs one commit.

Markers only move forward: a read at or below the newest stored one is dropped. The
conversation keeps no column for that (which would need a migration): the change reads
the conversation's events after ``up_to_seq`` (a read that covers it must be among
them), at most ``_LOOK_BACK`` of them, so a marker for a message far back is dropped
as well: the visitor was told about newer reads long ago.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from business import commands as c
from business.access import agents_own
from business.batching import Batcher, one_by_one
from business.conversation import Change, ChangeBuilder, Conversation
from business.errors import DomainError, InvalidInput
from business.events import ReadMarked
from business.model import ConversationId, Participant, ParticipantKind
from business.ports import Clock
from business.transactions import Transaction, Transactions, retrying

logger = logging.getLogger(__name__)

MAX_BATCH = 256
_LOOK_BACK = 200
"""Events after the marked one that are searched for a read covering it already."""


def agent_read(conv: Conversation, by: Participant, up_to_seq: int, now: datetime) -> Change:
    """``by`` (an agent) has read the conversation up to ``up_to_seq``: a visible
    ``read`` event. Only in an open conversation; ``up_to_seq`` within 1..``last_seq``."""
    if up_to_seq < 1 or up_to_seq > conv.last_seq:
        raise InvalidInput(f"up_to_seq must be between 1 and {conv.last_seq}")
    builder = ChangeBuilder(conv)
    builder.add(
        lambda seq, pos: ReadMarked(
            conversation_id=conv.id, seq=seq, pos=pos, created_at=now, by=by, up_to_seq=up_to_seq
        )
    )
    return builder.done()


class ReadMarkerService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock
        self._batcher: Batcher[c.MarkAgentRead, ReadMarked | None] = Batcher(
            self._store_batch, max_batch=MAX_BATCH
        )

    async def mark_read_by_agent(self, cmd: c.MarkAgentRead) -> ReadMarked | None:
        """Store the agent's read of their conversation up to ``cmd.up_to_seq``, or None
        when that is no news (an earlier read covers it, or a later marker of the same
        batch does) or the conversation has ended (markers are never refused there:
        the client sends them on its own). Not the agent's conversation: ``Forbidden``."""
        return await self._batcher.submit(cmd)

    async def _store_batch(
        self, marks: Sequence[c.MarkAgentRead]
    ) -> Sequence[ReadMarked | BaseException | None]:
        try:
            return await retrying(lambda: self._store(marks))
        except Exception:
            if len(marks) == 1:
                raise
        # One marker broke the batch: each alone, so the others are stored.
        return await one_by_one(marks, self._store_alone)

    async def _store_alone(self, mark: c.MarkAgentRead) -> ReadMarked | None:
        (outcome,) = await retrying(lambda: self._store([mark]))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _store(
        self, marks: Sequence[c.MarkAgentRead]
    ) -> list[ReadMarked | BaseException | None]:
        # Per conversation only the furthest marker can store anything.
        furthest: dict[ConversationId, c.MarkAgentRead] = {}
        for mark in marks:
            best = furthest.get(mark.conversation_id)
            if best is None or mark.up_to_seq > best.up_to_seq:
                furthest[mark.conversation_id] = mark
        stored: dict[ConversationId, ReadMarked | BaseException | None] = {}
        async with self._tx() as tx:
            conversations = await tx.conversations.get_many(sorted(furthest), for_update=True)
            now = self._clock.now()
            for cid, mark in furthest.items():
                try:
                    stored[cid] = await self._decide(tx, conversations.get(cid), mark, now)
                except DomainError as refusal:
                    stored[cid] = refusal
            if any(isinstance(event, ReadMarked) for event in stored.values()):
                await tx.commit()
        outcomes: list[ReadMarked | BaseException | None] = []
        for mark in marks:
            outcome = stored[mark.conversation_id]
            if isinstance(outcome, BaseException) or furthest[mark.conversation_id] is mark:
                outcomes.append(outcome)
            else:
                outcomes.append(None)  # a later marker of this batch covers it
        return outcomes

    async def _decide(
        self, tx: Transaction, conv: Conversation | None, mark: c.MarkAgentRead, now: datetime
    ) -> ReadMarked | None:
        conv = agents_own(conv, mark.agent_id)
        if not conv.is_open or await _covered(tx, conv, mark.up_to_seq):
            return None
        change = agent_read(conv, conv.agent, mark.up_to_seq, now)
        await tx.apply(change)
        (event,) = change.events
        assert isinstance(event, ReadMarked)
        logger.debug("conversation %s: read by its agent up to %d", conv.id, mark.up_to_seq)
        return event


async def _covered(tx: Transaction, conv: Conversation, up_to_seq: int) -> bool:
    """Whether a stored read of an agent already reaches ``up_to_seq`` (or the marker is
    too far back to matter)."""
    if up_to_seq > conv.last_seq:
        return False  # refused by agent_read
    after = await tx.events.list_after(conv.id, up_to_seq, _LOOK_BACK)
    if len(after) >= _LOOK_BACK:
        return True
    return any(
        isinstance(event, ReadMarked)
        and event.by.kind is ParticipantKind.AGENT
        and event.up_to_seq >= up_to_seq
        for event in after
    )
