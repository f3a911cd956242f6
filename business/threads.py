"""Messaging mode (a queue's ``mode`` is ``messaging``): threads that last for days.

A messaging thread has no notion of the visitor being connected: it stays open across
visits and devices (a signed identity brings the same visitor, ``business.identities``),
the visitor cannot end it (``not_allowed_in_messaging``), only its agent (``!end``) or an
integrator closes it. ``conversation.start`` returns the visitor's newest open, unlocked
thread of that queue unless it asks for a ``new_thread``; a visitor keeps at most
``MAX_OPEN_THREADS`` open in a queue. A thread the visitor starts carries the context
flag ``identity_initiated_thread`` (a custom field, so agents, rules and webhooks see it
wherever they see the context).

Its agent may lock it (``!lock``) and unlock it (``!unlock``): a locked thread refuses the
visitor's messages (``thread_locked``) and the widget shows it read-only. The visitor is
told by ``state.changed`` carrying ``locked``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from business import commands as c
from business.access import agent_conversation
from business.conversation import Change, ChangeBuilder, Conversation
from business.errors import (
    InvalidInput,
    InvalidTransition,
    NotFound,
    Unauthenticated,
)
from business.events import MessagePosted
from business.identities import IdentityCheck
from business.identity_ports import IdentityTokenVerifier
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    ParticipantKind,
    Queue,
    QueueMode,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from business.ports import Clock
from business.sessions import find_visitor
from business.transactions import Transactions, retrying

logger = logging.getLogger(__name__)

MAX_OPEN_THREADS = 10
"""Open threads a visitor may have in one messaging queue."""
MAX_LISTED_ENDED = 20
"""Closed threads ``threads.list`` shows besides the open ones, newest first."""
PREVIEW_CHARS = 100
IDENTITY_INITIATED = "identity_initiated_thread"
"""The context flag (a custom field, ``"true"``) of a thread the visitor started."""

NOT_ALLOWED_IN_MESSAGING = "not_allowed_in_messaging"
THREAD_LOCKED = "thread_locked"
TOO_MANY_THREADS = "too_many_threads"


class ThreadRefused(InvalidTransition):
    """What messaging mode does not allow; ``code`` names it for the visitor's client
    (``not_allowed_in_messaging``, ``thread_locked``, ``too_many_threads``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_queue_mode(value: str) -> QueueMode:
    try:
        return QueueMode(value)
    except ValueError:
        modes = ", ".join(mode.value for mode in QueueMode)
        raise InvalidInput(f"a queue's mode must be one of {modes}, not {value[:20]!r}") from None


def is_messaging(queue: Queue | None) -> bool:
    return queue is not None and queue.mode is QueueMode.MESSAGING


def check_visitor_may_end(queue: Queue | None) -> None:
    if is_messaging(queue):
        raise ThreadRefused(
            "a messaging conversation stays open; only an agent can close it",
            code=NOT_ALLOWED_IN_MESSAGING,
        )


def check_visitor_may_write(conv: Conversation) -> None:
    """Refuse the visitor's message to a locked thread (the aggregate decides: no read)."""
    if conv.locked and conv.is_open:
        raise ThreadRefused("this conversation is locked: you can read it only", code=THREAD_LOCKED)


def check_room_for_thread(open_in_queue: int) -> None:
    if open_in_queue >= MAX_OPEN_THREADS:
        raise ThreadRefused(
            f"you have {MAX_OPEN_THREADS} open conversations here already; continue one of them",
            code=TOO_MANY_THREADS,
        )


def flagged(context: VisitorContext) -> VisitorContext:
    """``context`` with the ``identity_initiated_thread`` flag set."""
    return context.merged(VisitorContext(custom={IDENTITY_INITIATED: "true"}))


def set_lock(conv: Conversation, agent_id: AgentId, locked: bool, now: datetime) -> Change:
    """The thread's agent locks or unlocks it; the visitor is told (``state.changed``
    with ``locked``)."""
    if conv.agent_id != agent_id:
        raise InvalidTransition("only the thread's own agent can lock or unlock it")
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.locked == locked:
        raise InvalidTransition(
            "this thread is locked already (!unlock opens it)"
            if locked
            else "this thread is not locked"
        )
    builder = ChangeBuilder(conv)
    builder.update(locked=locked)
    builder.state_changed(now, locked=locked)
    return builder.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadSummary:
    """One line of the visitor's thread list."""

    id: ConversationId
    queue: QueueName
    state: ConversationState
    locked: bool
    created_at: datetime
    last_seq: int
    unread: int
    """Messages of others after the visitor's read marker."""
    preview: str | None
    """The start of the newest message; None: none yet."""
    last_at: datetime | None


class ThreadService:
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

    async def set_lock(self, cmd: c.LockThread) -> Conversation:
        """Lock or unlock the agent's own thread of a messaging queue."""
        done = await retrying(lambda: self._set_lock(cmd))
        logger.info(
            "conversation %s %s by agent %s",
            done.id,
            "locked" if cmd.locked else "unlocked",
            cmd.agent_id,
        )
        return done

    async def _set_lock(self, cmd: c.LockThread) -> Conversation:
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            if not is_messaging(await tx.queues.get(conv.tenant_id, conv.queue)):
                raise InvalidTransition("only a thread of a messaging queue can be locked")
            done = await tx.apply(set_lock(conv, cmd.agent_id, cmd.locked, self._clock.now()))
            await tx.commit()
        return done

    async def threads_by_token(
        self, tenant_id: TenantId, visitor_token: str | None, identity: str | None = None
    ) -> Sequence[ThreadSummary]:
        """``threads`` for the visitor whose token this is (the chat manager's messaging
        step asks before any socket is open). A missing, malformed or unknown token is
        ``Unauthenticated``: a read never makes a visitor; an identified visitor needs
        ``identity`` too, as at a connect (``business.sessions.find_visitor``)."""
        verified = await self._identities.for_bearer(tenant_id, visitor_token, identity)
        async with self._tx.read() as tx:
            _, visitor = await find_visitor(
                tx, tenant_id, visitor_token, identity=verified, now=self._clock.now()
            )
        if visitor is None:
            raise Unauthenticated("unknown visitor token")
        return await self.threads(visitor.id)

    async def threads(self, visitor_id: VisitorId) -> Sequence[ThreadSummary]:
        """The visitor's open threads and their newest closed ones, newest first."""
        summaries = []
        async with self._tx.read() as tx:
            if await tx.visitors.get(visitor_id) is None:
                raise NotFound("unknown visitor")
            convs = await tx.conversations.list_for_visitor(visitor_id, ended=MAX_LISTED_ENDED)
            for conv in convs:
                unread = await tx.events.count_messages_after(
                    conv.id, conv.visitor_read_seq, ParticipantKind.VISITOR.value
                )
                recent = await tx.events.list_after(conv.id, max(0, conv.last_seq - 5), 5)
                last = next((e for e in reversed(recent) if isinstance(e, MessagePosted)), None)
                summaries.append(
                    ThreadSummary(
                        id=conv.id,
                        queue=conv.queue,
                        state=conv.state,
                        locked=conv.locked,
                        created_at=conv.created_at,
                        last_seq=conv.last_seq,
                        unread=unread,
                        preview=None if last is None else last.text[:PREVIEW_CHARS],
                        last_at=None if last is None else last.created_at,
                    )
                )
        return summaries
