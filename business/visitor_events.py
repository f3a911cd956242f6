"""One stored event, read with the visitor's own credentials.

An event too large to go inline to the visitor reaches them as a reference
(``presentation.event_refs``); this is what the reference is followed to. The caller
proves who they are exactly as a Socket.IO connect does (tenant and visitor token,
``business.sessions.find_visitor``) and may read only their own conversations, with
the answers ``sync`` gives: ``NotFound`` for an unknown conversation, ``Forbidden`` for
another visitor's, of this tenant or any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from business.access import visitor_conversation
from business.errors import NotFound, Unauthenticated
from business.events import ConversationEvent
from business.model import ConversationId, TenantId
from business.sessions import find_visitor
from business.transactions import Transactions
from business.validation import TOKEN_RE

_MAX_SEQ = 2**31 - 1
"""The largest ``seq`` the events table holds (a 32-bit column)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadVisitorEvent:
    tenant_id: TenantId
    visitor_token: str | None
    """None: the caller presented none."""
    conversation_id: ConversationId
    seq: int


class VisitorEventService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def event(self, query: ReadVisitorEvent) -> ConversationEvent:
        """The event ``seq`` of the visitor's conversation, as ``sync`` would return it.

        A missing, malformed or unknown token is ``Unauthenticated``: unlike a connect,
        a read never makes a new visitor, and a token is only known under the tenant it
        was issued in. One read-only unit of work, two indexed reads besides the
        (cached) tenant and conversation.
        """
        token = query.visitor_token
        if token is None or TOKEN_RE.fullmatch(token) is None:
            raise Unauthenticated("a visitor token is required: Authorization: Bearer <token>")
        async with self._tx.read() as tx:
            _, visitor = await find_visitor(tx, query.tenant_id, token)
            if visitor is None:
                raise Unauthenticated("unknown visitor token")
            conv = await visitor_conversation(
                tx, visitor.id, query.conversation_id, for_update=False
            )
            found = (
                await tx.events.list_after(conv.id, query.seq - 1, 1)
                if 0 < query.seq <= _MAX_SEQ
                else ()
            )
        if not found or found[0].seq != query.seq:
            raise NotFound(f"no event {query.seq} in this conversation")
        return found[0]
