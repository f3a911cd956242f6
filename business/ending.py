"""The end of a conversation, whoever ends it (the visitor, its agent, an integrator):
what is stored with it and what follows once it is committed. One path, so every way
of ending a chat frees the same places and remembers the same last agent."""

from __future__ import annotations

import logging

from business.conversation import Conversation
from business.model import ConversationState, Participant, QueueName
from business.ports import Clock
from business.redaction_policy import RedactionPolicy
from business.routing import Router
from business.transactions import Transaction, Transactions

logger = logging.getLogger(__name__)


class Ending:
    def __init__(
        self,
        *,
        transactions: Transactions,
        router: Router,
        clock: Clock,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock
        self._redaction = redaction or RedactionPolicy()

    async def end(
        self,
        tx: Transaction,
        conv: Conversation,
        by: Participant,
        wrap_up: tuple[str | None, str | None] = (None, None),
    ) -> Conversation:
        """End ``conv`` (read ``for_update`` in ``tx``) and commit ``tx``. The wrap-up
        note (an agent's, an integrator's reason) is stored masked, as messages are."""
        now = self._clock.now()
        code, note = wrap_up
        if note:
            note = await self._redaction.redact(tx, conv.tenant_id, note, conv.id)
            wrap_up = (code, note)
        ended = await tx.apply(conv.end(by, now, wrap_up=wrap_up))
        if conv.agent_id is not None and conv.has_joined_agent:
            # Who served them last: a returning visitor goes to them first.
            await tx.visitors.set_last_agent(conv.visitor_id, conv.agent_id, now)
        await tx.commit()
        logger.info("conversation %s ended by %s", conv.id, by.kind)
        return ended

    async def after(self, before: Conversation) -> None:
        """Once the end of ``before`` (the conversation as it was) is committed."""
        await dispatch_freed(self._tx, self._router, before)


async def dispatch_freed(
    transactions: Transactions,
    router: Router,
    before: Conversation,
    *,
    also: QueueName | None = None,
) -> None:
    """``before`` no longer holds what it held (its place in its queue, its agent's
    place, the place of the agent it was offered to): let its queue move on, and every
    other queue of that agent too, or their free place would sit idle while visitors
    wait there; and ``also`` (where it went)."""
    queues = [before.queue]
    if also is not None and also != before.queue:
        queues.append(also)
    served_by = before.agent_id if before.state is ConversationState.ACTIVE else None
    # An open offer held a place of the offered agent's too.
    for agent_id in (served_by, before.offered_to):
        if agent_id is None:
            continue
        async with transactions.read() as tx:
            agent = await tx.agents.get(agent_id)
        if agent is not None:
            queues += [q for q in agent.queues if q not in queues]
    for queue in queues:
        await router.dispatch(before.tenant_id, queue)
