"""A written conversation against the cached copy: the delivery and read cursors only move
forward, and another unit of work may have moved them further than this one knew
(``SqlContext.publish_writes``)."""

from __future__ import annotations

import dataclasses
import operator

from business.conversation import Conversation
from business.copying import replaced

_CURSORS = frozenset({"agent_delivered_pos", "visitor_read_seq"})
_ALL_BUT_CURSORS = operator.attrgetter(
    *(f.name for f in dataclasses.fields(Conversation) if f.compare and f.name not in _CURSORS)
)


def same_but_cursors(a: Conversation, b: Conversation) -> bool:
    """``a`` and ``b`` differ in their cursors at most (compared as ``==`` would, without
    a copy)."""
    return a is b or _ALL_BUT_CURSORS(a) == _ALL_BUT_CURSORS(b)


def with_furthest_cursors(
    written: Conversation, cached: Conversation, *, new_owner: bool
) -> Conversation:
    """The cursors only move forward (``_save`` writes them so): another unit of work may
    have moved them further than this one knew. Not the owner's cursor of a new owner:
    the save wrote it as given (``conversation_rows.columns_to_save``)."""
    delivered = written.agent_delivered_pos
    if not new_owner:
        delivered = max(cached.agent_delivered_pos, delivered)
    read = max(cached.visitor_read_seq, written.visitor_read_seq)
    if delivered == written.agent_delivered_pos and read == written.visitor_read_seq:
        return written
    return replaced(written, agent_delivered_pos=delivered, visitor_read_seq=read)
