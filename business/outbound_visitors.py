"""Outbound threads to a known visitor (messaging mode), with no conversation to start
from: an integrator (``POST /threads``) or an administrator (``chat-engine thread
open``) names the visitor by id or by their signed identity's ``sub``, a messaging
queue, and the agent it is opened in the name of, as Genesys' outbound messaging to a
known contact does.

The thread is the one ``!newthread`` opens (``business.outbound_threads.open_parked``):
the agent owns it, their text (redacted by the tenant's policy) is its first message,
and it waits parked on hold, unread in the visitor's thread list, until the visitor
answers. Its context is the flag ``identity_initiated_thread = "false"`` and the
visitor's mapped signed claims, as a thread the visitor starts has them.

The rules, checked in this order so that another tenant's agent, queue or visitor is
refused exactly as nobody's (``NotFound``) before any rule says anything about ours:
the agent at the address, the queue and the visitor are the tenant's; then the queue is
a messaging one, the agent is one of its members (``!newthread`` is by the agent who
served the visitor in that queue; with no such chat, membership is what makes them
one of its agents), and the visitor has room for one more open thread there.

A ``sub`` nobody has signed in as yet gets its visitor now, bound to that ``sub``: the
customer finds the thread at their first signed visit, from any device (the binding is
what ``business.identities.resolve_identity`` finds). The binding is provisional
(``verified_at`` None, shown as not yet verified) until a token verifies it: if that
first visit comes as an anonymous visitor with a chat of their own, they stay that
visitor and the thread moves to them (``business.provisional_identities``). Refusing
would make the first contact impossible for a customer who has never opened the chat,
which is what outbound to a known contact is for. It is refused, though, while the
tenant's signed identities are off: nobody could ever sign in as that ``sub``, so the
thread would be read by nobody; and to a caller that may not create visitors
(``may_create_visitor``: a bot's API key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from business.identity_extra import extra_map, signed_context
from business.identity_model import MAX_SUB, IdentityMode, VisitorIdentity
from business.model import (
    Agent,
    Queue,
    QueueName,
    TenantId,
    Visitor,
    VisitorContext,
    VisitorId,
    new_id,
)
from business.outbound_threads import open_parked
from business.participants import agent_at
from business.ports import AddressNormalizer, Clock
from business.redaction_policy import RedactionPolicy
from business.threads import IDENTITY_INITIATED, is_messaging
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_storable, check_text
from business.visitor_tokens import hash_token, new_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenThreadToVisitor:
    """Exactly one of ``visitor_id`` and ``sub`` (the visitor's signed identity's)."""

    tenant_id: TenantId
    queue: QueueName
    agent_address: str
    text: str
    visitor_id: VisitorId | None = None
    sub: str | None = None
    may_create_visitor: bool = True
    """False: a ``sub`` nobody is yet is refused (``Forbidden``) rather than given a
    visitor. A bot's API key opens threads to existing visitors only: a visitor per new
    ``sub`` would otherwise bypass the limit on new visitors."""


class OutboundVisitorThreadService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        addresses: AddressNormalizer,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._limits = limits
        self._addresses = addresses
        self._redaction = redaction or RedactionPolicy()

    async def open_thread(self, cmd: OpenThreadToVisitor) -> Conversation:
        """A new thread to the visitor ``cmd`` names, parked for them; the rules are the
        module's."""
        check_text(cmd.text, self._limits)
        if (cmd.visitor_id is None) == (cmd.sub is None):
            raise InvalidInput("name the visitor by exactly one of visitor id and sub")
        if cmd.sub is not None:
            check_sub(cmd.sub)

        async def attempt() -> Conversation:
            async with self._tx() as tx:
                agent = await agent_at(tx, self._addresses, cmd.tenant_id, cmd.agent_address)
                queue = await tx.queues.get(cmd.tenant_id, cmd.queue)
                if queue is None:
                    raise NotFound(f"no queue is called {cmd.queue}")
                visitor = await self._visitor(tx, cmd)
                check_may_open(queue, agent)
                if visitor is None:
                    assert cmd.sub is not None
                    visitor = await self._new_identified(tx, cmd, cmd.sub)
                context = VisitorContext(custom={IDENTITY_INITIATED: "false"})
                return await open_parked(
                    tx,
                    self._redaction,
                    now=self._clock.now(),
                    queue=queue,
                    agent=agent,
                    visitor_id=visitor.id,
                    visitor_name=visitor.name or f"Visitor {visitor.id[:4]}",
                    context=await signed_context(
                        tx, await extra_map(tx, cmd.tenant_id), visitor.id, context
                    ),
                    form={},
                    text=cmd.text,
                )

        opened = await retrying(attempt)
        logger.info(
            "conversation %s opened by agent %s to visitor %s in queue %s (outbound)",
            opened.id,
            opened.agent_id,
            opened.visitor_id,
            opened.queue,
        )
        return opened

    async def _visitor(self, tx: Transaction, cmd: OpenThreadToVisitor) -> Visitor | None:
        """The visitor ``cmd`` names; None: a ``sub`` nobody is yet."""
        if cmd.visitor_id is not None:
            visitor = await tx.visitors.get(cmd.visitor_id)
            if visitor is None or visitor.tenant_id != cmd.tenant_id:
                raise NotFound(f"no visitor has the id {cmd.visitor_id}")
            return visitor
        assert cmd.sub is not None
        bound = await tx.visitor_identities.get_by_sub(cmd.tenant_id, cmd.sub)
        if bound is None:
            return None
        visitor = await tx.visitors.get(bound.visitor_id)
        assert visitor is not None, "an identity's visitor is never deleted"
        return visitor

    async def _new_identified(self, tx: Transaction, cmd: OpenThreadToVisitor, sub: str) -> Visitor:
        tenant_id = cmd.tenant_id
        if not cmd.may_create_visitor:
            raise Forbidden(
                "nobody has signed in as this sub yet, and only an administrator may create "
                "a visitor for a new sub: name an existing visitor or sub, or use an admin key"
            )
        settings = await tx.identity_settings.get(tenant_id)
        if settings is None or settings.mode is IdentityMode.OFF:
            raise InvalidTransition(
                "nobody has signed in as this sub yet, and signed identities are off for "
                "this tenant, so nobody could: turn them on first, or name a visitor by id"
            )
        now = self._clock.now()
        visitor = Visitor(id=VisitorId(new_id()), tenant_id=tenant_id, created_at=now)
        # Nobody holds this token: the visitor is reached only through the identity
        # (a signed visit gets a device token of theirs).
        await tx.visitors.add(visitor, hash_token(new_token()))
        await tx.visitor_identities.put(
            VisitorIdentity(
                tenant_id=tenant_id,
                sub=sub,
                visitor_id=visitor.id,
                name=None,
                email=None,
                extra={},
                # Provisional: no token has verified it. The first signed visit sets the
                # claims, or moves the thread to the anonymous visitor it comes as.
                verified_at=None,
            )
        )
        logger.info("visitor %s created for an outbound thread (tenant %s)", visitor.id, tenant_id)
        return visitor


def check_sub(sub: str) -> str:
    """A ``sub`` as a signed identity's can be: 1 to 255 characters, not blank. It is
    matched exactly, as the token's is (no trimming)."""
    check_storable(sub, "sub")
    if not sub.strip() or len(sub) > MAX_SUB:
        raise InvalidInput(f"sub must be 1 to {MAX_SUB} characters, not blank")
    return sub


def check_may_open(queue: Queue, agent: Agent) -> None:
    if not is_messaging(queue):
        raise InvalidTransition(
            f"queue {queue.name} is a live queue: outbound threads are for messaging queues only"
        )
    if queue.name not in agent.queues:
        raise InvalidTransition(
            f"{agent.address} is not an agent of queue {queue.name}: add them to it first"
        )
