"""A provisional identity binding given up at the first signed visit.

An outbound thread to a ``sub`` nobody had signed in as gives that ``sub`` a visitor of
its own (``business.outbound_visitors``), bound provisionally (``verified_at`` None): no
token has verified it. ``business.identities`` promises that the first valid token
makes the *connecting* anonymous visitor the identity (its history stays, a running chat
goes on); switching their device to the placeholder instead would hide that chat from
their widget. So the first signed visit that comes as an anonymous visitor (a valid
visitor token, no identity of its own) keeps that visitor: the placeholder's
conversations (the outbound threads) move to it and the binding with them, in the
caller's transaction. The placeholder is left with nothing and goes with the idle
visitors (``business.governance``).
"""

from __future__ import annotations

import logging
from typing import Final

from business.changes import ChangeBuilder
from business.identity_model import VisitorIdentity
from business.model import Visitor
from business.transactions import Transaction

logger = logging.getLogger(__name__)

MAX_MOVED_ENDED: Final = 1000
"""Ended conversations of a placeholder moved with its open ones: it has only the
outbound threads opened to it (a few, some perhaps ended), so this bounds the read
without leaving any behind in practice."""


async def adopt_placeholder(
    tx: Transaction, placeholder: VisitorIdentity, visitor: Visitor, name: str | None
) -> int:
    """Move the conversations of ``placeholder``'s visitor to ``visitor`` (named ``name``
    in them, else as a new thread of theirs would be); the caller then binds the identity
    to ``visitor``. Each is saved as read under its row lock, so a concurrent change of
    one (or a second visit adopting it) is ``Conflict`` and the connect is retried.
    Returns how many moved."""
    assert placeholder.provisional
    shown = name or visitor.name or f"Visitor {visitor.id[:4]}"
    moved = 0
    for listed in await tx.conversations.list_for_visitor(
        placeholder.visitor_id, ended=MAX_MOVED_ENDED
    ):
        conv = await tx.conversations.get(listed.id, for_update=True)
        if conv is None or conv.visitor_id != placeholder.visitor_id:
            continue
        builder = ChangeBuilder(conv)
        builder.update(visitor_id=visitor.id, visitor_name=shown)
        await tx.apply(builder.done())
        moved += 1
        logger.info(
            "conversation %s moved from placeholder visitor %s to visitor %s (their sign-in)",
            conv.id,
            placeholder.visitor_id,
            visitor.id,
        )
    return moved
