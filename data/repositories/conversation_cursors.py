"""A written conversation against the cached copy: the delivery and read cursors only move
forward, and another unit of work may have moved them further than this one knew
(``SqlContext.publish_writes``)."""

from __future__ import annotations

import dataclasses

from business.conversation import Conversation


def same_but_cursors(a: Conversation, b: Conversation) -> bool:
    """``a`` and ``b`` differ in their cursors at most."""
    if a is b:
        return True
    return (
        dataclasses.replace(
            a, agent_delivered_pos=b.agent_delivered_pos, visitor_read_seq=b.visitor_read_seq
        )
        == b
    )


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
    return dataclasses.replace(written, agent_delivered_pos=delivered, visitor_read_seq=read)
