"""One stored event, read with the visitor's own credentials.

An event too large to go inline to the visitor reaches them as a reference
(``presentation.event_refs``); this is what the reference is followed to. The caller
proves who they are exactly as a Socket.IO connect does (tenant and visitor token, and
the signed identity of an identified visitor: ``business.sessions.find_visitor``) and
may read only their own conversations, with
the answers ``sync`` gives: ``NotFound`` for an unknown conversation, ``Forbidden`` for
another visitor's, of this tenant or any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from business.access import visitor_conversation
from business.errors import NotFound, Unauthenticated
from business.events import ConversationEvent
from business.identities import IdentityCheck
from business.identity_ports import IdentityTokenVerifier
from business.model import ConversationId, TenantId
from business.ports import Clock
from business.sessions import find_visitor
from business.transactions import Transactions

_MAX_SEQ = 2**31 - 1
"""The largest ``seq`` the events table holds (a 32-bit column)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadVisitorEvent:
    tenant_id: TenantId
    visitor_token: str | None
    """None: the caller presented none."""
    identity: str | None = None
    """The signed identity token, as a connect's ``auth.identity`` (None: none)."""
    conversation_id: ConversationId
    seq: int


class VisitorEventService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        identity_verifier: IdentityTokenVerifier | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._identities = IdentityCheck(
            transactions=transactions, clock=clock, verifier=identity_verifier
        )

    async def event(self, query: ReadVisitorEvent) -> ConversationEvent:
        """The event ``seq`` of the visitor's conversation, as ``sync`` would return it.

        A missing, malformed or unknown token is ``Unauthenticated``: unlike a connect,
        a read never makes a new visitor, and a token is only known under the tenant it
        was issued in. So is an identified visitor's token without a valid identity
        token of its ``sub``, and any identity the connect would refuse (required and
        missing, invalid, or sent while identities are off). One read-only unit of
        work, three indexed reads besides the (cached) tenant and conversation.
        """
        token = query.visitor_token
        verified = await self._identities.for_bearer(query.tenant_id, token, query.identity)
        async with self._tx.read() as tx:
            _, visitor = await find_visitor(
                tx, query.tenant_id, token, identity=verified, now=self._clock.now()
            )
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
