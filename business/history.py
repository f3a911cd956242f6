"""Reading a conversation's stored events: the visitor's sync and the agents' history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from business import commands as c
from business.access import any_conversation, visitor_conversation
from business.errors import InvalidInput, NotFound
from business.events import ConversationEvent, StoredEvent
from business.model import ConversationId, VisitorId
from business.transactions import Transactions
from business.validation import Limits


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    events: Sequence[ConversationEvent]
    has_more: bool


_ALL = 2**31 - 1
"""Positions run 1..last_pos without gaps, so the events before pos n are the first
n - 1."""


class HistoryService:
    def __init__(self, *, transactions: Transactions, limits: Limits) -> None:
        self._tx = transactions
        self._limits = limits

    async def sync(self, cmd: c.SyncEvents) -> SyncResult:
        """Events after ``after_seq``, at most ``max_sync_events`` of them per call."""
        if cmd.after_seq < 0:
            raise InvalidInput("after_seq must not be negative")
        limit = self._limits.max_sync_events
        async with self._tx.read() as tx:
            conv = await visitor_conversation(
                tx, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
            # A seq is a 32-bit column: past its largest value there is nothing (the
            # database would refuse the number instead of answering that).
            after = min(cmd.after_seq, _ALL)
            events = await tx.events.list_after(conv.id, after, limit + 1)
        return SyncResult(events=events[:limit], has_more=len(events) > limit)

    async def newest(
        self, conversation_ids: Sequence[ConversationId], visitor_ids: Sequence[VisitorId] = ()
    ) -> Sequence[tuple[VisitorId, ConversationEvent]]:
        """The newest event a visitor sees of each of these conversations and of each
        open conversation of these visitors, with its visitor (unknown ones are left
        out): sent again, it lets a client that missed live events notice (a seq past
        the last it applied is a gap, which it fills with ``sync``). Read from the
        store, not up to the ``last_seq`` this process may have cached: other processes
        may have added events since."""
        async with self._tx.read() as tx:
            known = dict(await tx.conversations.get_many(conversation_ids))
            if visitor_ids:
                for open_ones in (await tx.conversations.open_for_visitors(visitor_ids)).values():
                    for conv in open_ones:
                        known.setdefault(conv.id, conv)
            newest = await tx.events.newest_visible(list(known))
        return [(known[cid].visitor_id, event) for cid, event in newest.items()]

    async def histories(
        self, requests: Sequence[tuple[ConversationId, int]]
    ) -> list[Sequence[StoredEvent] | BaseException]:
        """``history(cid, before_pos=pos)`` for each (cid, pos), in one read for them all
        (a ``Batcher`` can feed it): the agents' offers of a thousand chats routed at
        once cost a few reads, not a thousand. An unknown conversation's outcome is
        ``NotFound``."""
        async with self._tx.read() as tx:
            known = await tx.conversations.get_many([cid for cid, _ in requests])
            found = await tx.events.list_before_many(
                [(cid, pos) for cid, pos in requests if cid in known]
            )
        outcomes: list[Sequence[StoredEvent] | BaseException] = []
        for cid, pos in requests:
            if cid not in known:
                outcomes.append(NotFound(f"no conversation {cid}"))
            else:
                outcomes.append([e for e in found.get(cid, ()) if e.pos < pos])
        return outcomes

    async def history(
        self, conversation_id: ConversationId, *, before_pos: int | None = None
    ) -> Sequence[StoredEvent]:
        """Stored events of a conversation for the agent desk (offers, transcripts),
        notes included, all of them or those before ``before_pos``. Bounded by what is
        stored, not by the conversation's ``last_pos``: another process may have added
        events since this one last read the conversation."""
        async with self._tx.read() as tx:
            await any_conversation(tx, conversation_id)
            limit = _ALL if before_pos is None else max(before_pos - 1, 0)
            return await tx.events.list_after_pos(conversation_id, 0, limit)
