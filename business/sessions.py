"""Visitor sessions: who is connecting, and what they were in the middle of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from business import commands as c
from business.device_tokens import device_visitor
from business.errors import NotFound, UnknownVisitor
from business.identities import IdentityCheck, resolve_identity
from business.identity_model import VerifiedIdentity
from business.identity_ports import IdentityTokenVerifier
from business.model import (
    ConversationId,
    ConversationState,
    ParticipantKind,
    QueueMode,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
    new_id,
)
from business.ports import Clock
from business.transactions import Transaction, Transactions, retrying
from business.validation import check_token
from business.visitor_tokens import hash_token, new_token

__all__ = ["ConversationSummary", "SessionService", "VisitorSession", "find_visitor", "hash_token"]


async def find_visitor(
    tx: Transaction,
    tenant_id: TenantId,
    token: str | None,
    *,
    identity: VerifiedIdentity | None,
    now: datetime,
) -> tuple[Tenant, Visitor | None]:
    """The tenant and the visitor of ``token`` in it (None: no token, or one this tenant
    does not know; a token is only ever looked up under its own tenant). An unknown
    tenant is ``NotFound``. The one way a visitor's credentials are checked: the
    Socket.IO connect and the visitor's HTTP reads both come here.

    An identified visitor is found only with a verified ``identity`` of its ``sub``:
    its token alone (after the site's logout, copied to another browser, or with
    another ``sub``) is nobody's, whatever the caller does next (a new anonymous
    visitor, a refusal). A device token unused for long is nobody's either
    (``business.device_tokens``)."""
    tenant = await tx.tenants.get(tenant_id)
    if tenant is None:
        raise NotFound(f"unknown tenant {tenant_id!r}")
    if token is None:
        return tenant, None
    hashed = hash_token(token)
    visitor = await tx.visitors.get_by_token_hash(tenant.id, hashed)
    if visitor is None:
        # An identified visitor's other devices (``business.identities``).
        device = await device_visitor(tx, tenant.id, hashed, now)
        visitor = None if device is None else await tx.visitors.get(device)
    if visitor is not None:
        bound = await tx.visitor_identities.get_for_visitor(visitor.id)
        if bound is not None and (identity is None or identity.sub != bound.sub):
            return tenant, None
    return tenant, visitor


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationSummary:
    id: ConversationId
    state: ConversationState
    last_seq: int
    unread: int
    queue: QueueName | None = None
    locked: bool = False
    """A messaging thread its agent locked (``business.threads``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorSession:
    tenant: Tenant
    visitor: Visitor
    visitor_token: str
    """The token to present next time; the same one the client sent, or a new one."""
    conversations: Sequence[ConversationSummary]
    is_new: bool
    messaging_queues: tuple[QueueName, ...] = ()
    """The tenant's queues in messaging mode (``business.threads``): the widget shows
    a thread list for them."""


class SessionService:
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

    async def open_session(self, cmd: c.OpenSession) -> VisitorSession:
        """Find the visitor by token, or create a new anonymous one.

        A well-formed token we do not know (expired, or the database was reset) gets a
        new visitor rather than an error, so a widget always recovers by itself. A signed
        identity (``cmd.identity``) decides the visitor as ``business.identities`` says.
        """
        token = cmd.visitor_token
        if token is not None:
            check_token(token)
        verified = await self._identities.verify(cmd.tenant_id, cmd.identity)
        # Two browsers binding the same new ``sub`` at once: one commit loses to the
        # other's (``Conflict``); deciding again finds the binding and joins it.
        return await retrying(lambda: self._open(cmd, verified))

    async def _open(self, cmd: c.OpenSession, verified: VerifiedIdentity | None) -> VisitorSession:
        token = cmd.visitor_token
        async with self._tx() as tx:
            tenant, visitor = await find_visitor(
                tx, cmd.tenant_id, token, identity=verified, now=self._clock.now()
            )
            is_new = False
            if verified is not None:
                visitor, token, is_new = await resolve_identity(
                    tx,
                    tenant=tenant,
                    visitor=visitor,
                    token=token if visitor is not None else None,
                    verified=verified,
                    clock=self._clock,
                    create=cmd.create_unknown,
                )
                await tx.commit()
            if visitor is None and token is not None and not cmd.create_unknown:
                raise UnknownVisitor("unknown visitor_token")
            if visitor is None:
                is_new = True
                token = new_token()
                visitor = Visitor(
                    id=VisitorId(new_id()), tenant_id=tenant.id, created_at=self._clock.now()
                )
                await tx.visitors.add(visitor, hash_token(token))
                await tx.commit()
            assert token is not None
            summaries = []
            # Every open conversation, plus the newest ended one so a reloaded widget can
            # still show how the last chat ended.
            for conv in await tx.conversations.list_for_visitor(visitor.id, ended=1):
                unread = await tx.events.count_messages_after(
                    conv.id, conv.visitor_read_seq, ParticipantKind.VISITOR.value
                )
                summaries.append(
                    ConversationSummary(
                        id=conv.id,
                        state=conv.state,
                        last_seq=conv.last_seq,
                        unread=unread,
                        queue=conv.queue,
                        locked=conv.locked,
                    )
                )
            messaging = tuple(
                q.name for q in await tx.queues.list(tenant.id) if q.mode is QueueMode.MESSAGING
            )
        return VisitorSession(
            tenant=tenant,
            visitor=visitor,
            visitor_token=token,
            conversations=summaries,
            is_new=is_new,
            messaging_queues=messaging,
        )
