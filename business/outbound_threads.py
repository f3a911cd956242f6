"""Outbound threads (messaging mode): an agent opens a new thread to a visitor they
know from a conversation (``!newthread text``), as Genesys' outbound messaging does.

The thread starts in the same messaging queue with the agent as its owner and the
agent's text as its first message, then waits parked on hold (``business.hold``): it
takes none of the agent's places, the visitor finds it in their thread list (unread),
and their answer brings it back to that agent if they are ready and have room, else to
the queue. It carries ``identity_initiated_thread = "false"`` in its context (the rest
of the context is the conversation's it came from), so agents, rules and webhooks tell
it from a thread the visitor started. The visitor's maximum of open threads holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from business import commands as c
from business.access import agent_conversation, tenant_conversation
from business.conversation import Change, Conversation
from business.errors import InvalidTransition, NotFound
from business.hold import hold_chat
from business.model import (
    Agent,
    ConversationId,
    ConversationState,
    EventId,
    Queue,
    TenantId,
    VisitorContext,
    VisitorId,
    new_id,
)
from business.offer_rules import make_offer
from business.participants import agent_at
from business.ports import AddressNormalizer, Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.threads import IDENTITY_INITIATED, check_room_for_thread, is_messaging
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_text

logger = logging.getLogger(__name__)

OPENING_MESSAGE = "thread:"
"""``client_msg_id`` prefix of an outbound thread's first message (then the thread's id):
the agent did not type it in the thread's own window (``!newthread`` in another chat, an
integrator or an admin in their name), so it is shown to them there, unlike the
messages they write in a chat."""


def is_opening_message(client_msg_id: str | None) -> bool:
    """Whether a message is the first one of an outbound thread (``OPENING_MESSAGE``)."""
    return client_msg_id is not None and client_msg_id.startswith(OPENING_MESSAGE)


def chained(*changes: Change) -> Change:
    """Consecutive changes of one conversation as one (stored in one apply, so a new
    conversation is inserted once, as it ends up)."""
    return Change(
        before=changes[0].before,
        conversation=changes[-1].conversation,
        events=tuple(e for change in changes for e in change.events),
        member_writes=tuple(w for change in changes for w in change.member_writes),
    )


class OutboundThreadService:
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

    async def open_thread(self, cmd: c.OpenThread) -> Conversation:
        """A new thread to the visitor of ``cmd.conversation_id`` (the agent's own chat,
        of a messaging queue), opened by the agent with ``cmd.text``."""
        check_text(cmd.text, self._limits)

        async def attempt() -> Conversation:
            async with self._tx() as tx:
                source = await agent_conversation(
                    tx, cmd.agent_id, cmd.conversation_id, for_update=False
                )
                agent = await tx.agents.get(cmd.agent_id)
                if agent is None:
                    raise NotFound("unknown agent")
                return await self._open(tx, source, agent, cmd.text)

        opened = await retrying(attempt)
        logger.info(
            "conversation %s opened by agent %s to the visitor of %s",
            opened.id,
            cmd.agent_id,
            cmd.conversation_id,
        )
        return opened

    async def open_for_integrator(self, cmd: OpenThreadByIntegrator) -> Conversation:
        """The same, asked by an integrator: the thread goes to the visitor of any
        conversation of the tenant's messaging queues, in the name of the agent at
        ``cmd.agent_address`` (of the tenant; they need not be ready: it waits parked)."""
        check_text(cmd.text, self._limits)

        async def attempt() -> Conversation:
            async with self._tx() as tx:
                source = await tenant_conversation(tx, cmd.tenant_id, cmd.conversation_id)
                agent = await agent_at(tx, self._addresses, cmd.tenant_id, cmd.agent_address)
                return await self._open(tx, source, agent, cmd.text)

        opened = await retrying(attempt)
        logger.info(
            "conversation %s opened by an integrator to the visitor of %s",
            opened.id,
            cmd.conversation_id,
        )
        return opened

    async def _open(
        self, tx: Transaction, source: Conversation, agent: Agent, text: str
    ) -> Conversation:
        queue = await tx.queues.get(source.tenant_id, source.queue)
        if queue is None or not is_messaging(queue):
            raise InvalidTransition("new threads are for messaging queues only")
        context = source.context.merged(VisitorContext(custom={IDENTITY_INITIATED: "false"}))
        return await open_parked(
            tx,
            self._redaction,
            now=self._clock.now(),
            queue=queue,
            agent=agent,
            visitor_id=source.visitor_id,
            visitor_name=source.visitor_name,
            context=context,
            form=source.form,
            text=text,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenThreadByIntegrator:
    tenant_id: TenantId
    conversation_id: ConversationId
    """A conversation of the visitor to write to (any state, any of the tenant's)."""
    agent_address: str
    text: str


async def open_parked(
    tx: Transaction,
    redaction: RedactionPolicy,
    *,
    now: datetime,
    queue: Queue,
    agent: Agent,
    visitor_id: VisitorId,
    visitor_name: str,
    context: VisitorContext,
    form: Mapping[str, str],
    text: str,
) -> Conversation:
    """The thread itself, in ``queue`` (messaging: the caller checked), taken by
    ``agent`` with ``text``, ``context`` and ``form`` (all redacted here, as a thread the
    visitor starts has them: the signed claims mapped to custom fields are the
    visitor's data too) and parked on hold; commits ``tx``."""
    # The queue's row, as a start holds it (``business.starts``) before it counts: two
    # opens (or an open and a start) at once would both see room for the last thread.
    locked = await tx.queues.get(queue.tenant_id, queue.name, for_update=True)
    if locked is None:
        raise NotFound(f"no queue is called {queue.name}")
    queue = locked
    visitor_threads = await tx.conversations.list_for_visitor(visitor_id)
    check_room_for_thread(
        sum(1 for conv in visitor_threads if conv.is_open and conv.queue == queue.name)
    )
    conversation_id = ConversationId(new_id())
    text = await redaction.redact(tx, queue.tenant_id, text, conversation_id)
    redact = await field_redactor(redaction, tx, queue.tenant_id, conversation_id)
    context = redact.context(context)
    form = redact.fields(form, "the pre-chat form")
    opened = Conversation.open(
        id=conversation_id,
        tenant_id=queue.tenant_id,
        visitor_id=visitor_id,
        visitor_name=visitor_name,
        queue=queue.name,
        position=queue.waiting + 1,
        now=now,
        context=context,
        form=form,
    )
    offered = make_offer(opened.conversation, agent, now, queue.offer_timeout, take=True)
    taken = offered.conversation
    assert taken.state is ConversationState.ACTIVE
    posted = taken.post(
        id=EventId(new_id()),
        sender=taken.agent,
        text=text,
        client_msg_id=f"{OPENING_MESSAGE}{conversation_id}",
        now=now,
    )
    parked = hold_chat(posted.conversation, agent.id, now)
    conv = await tx.apply(chained(opened, offered, posted, parked))
    await tx.commit()
    return conv
