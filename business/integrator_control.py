"""What an integrator does to a conversation besides writing in it: end it, transfer it
to a queue or offer it to an agent. It acts as a bot or the system
(``business.integrator_commands``), and goes the same ways the visitor's and the
agents' own commands go: the end through ``business.ending`` (the visitor's last agent
remembered, freed places dispatched), a transfer through the rules of
``business.integrator_rules`` under the tenant's routing lock, as a colleague's offer is.
"""

from __future__ import annotations

import logging

from business.access import tenant_conversation
from business.conversation import Change, Conversation
from business.ending import Ending, dispatch_freed
from business.errors import InvalidInput, InvalidTransition, NotFound
from business.integrator_commands import EndByIntegrator, TransferByIntegrator
from business.integrator_rules import check_may_offer, hand_to_queue, offer_to_agent
from business.model import (
    Agent,
    ConversationState,
    EventId,
    OfferKind,
    Participant,
    QueueName,
    new_id,
)
from business.participants import agent_at, check_can_take
from business.ports import AddressNormalizer, Clock
from business.redaction_policy import RedactionPolicy
from business.routing import Router
from business.starts import check_room
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_actor, check_queue_name, check_text

logger = logging.getLogger(__name__)


class IntegratorControlService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        router: Router,
        clock: Clock,
        limits: Limits,
        addresses: AddressNormalizer,
        redaction: RedactionPolicy | None = None,
    ) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock
        self._limits = limits
        self._addresses = addresses
        self._redaction = redaction or RedactionPolicy()
        self._ending = Ending(
            transactions=transactions, router=router, clock=clock, redaction=self._redaction
        )

    async def end(self, cmd: EndByIntegrator) -> Conversation:
        """End the conversation; ending an ended one changes nothing (a retried call
        succeeds). An agent in it leaves it visibly; the visitor sees it end."""
        actor = check_actor(cmd.actor)
        reason = self._optional_text(cmd.reason, "reason")
        return await retrying(lambda: self._end(cmd, actor, reason))

    async def _end(
        self, cmd: EndByIntegrator, actor: Participant, reason: str | None
    ) -> Conversation:
        async with self._tx() as tx:
            conv = await tenant_conversation(
                tx, cmd.tenant_id, cmd.conversation_id, for_update=True
            )
            if not conv.is_open:
                return conv
            ended = await self._ending.end(tx, conv, actor, (None, reason))
        await self._ending.after(conv)
        return ended

    async def transfer(self, cmd: TransferByIntegrator) -> Conversation:
        """Hand the conversation to ``cmd.queue``, or offer it to the agent at
        ``cmd.agent_address`` (who must be ready and have a free place); returns the
        conversation after it. Refused on an ended one (``InvalidTransition``)."""
        actor = check_actor(cmd.actor)
        if (cmd.queue is None) == (cmd.agent_address is None):
            raise InvalidInput("name either a queue or an agent's address to transfer to")
        queue = None if cmd.queue is None else check_queue_name(cmd.queue)
        address = None if cmd.agent_address is None else cmd.agent_address.strip()
        if address == "":
            raise InvalidInput("the agent's address must not be empty")
        note = self._optional_text(cmd.note, "note")
        async with self._router.tenant_lock(cmd.tenant_id):
            before, after = await retrying(lambda: self._transfer(cmd, actor, queue, address, note))
        if after is not before:
            # Whatever it held is free now (its agent's place, an offered agent's, its
            # place in the queue), and where it went may have somebody to take it.
            await dispatch_freed(self._tx, self._router, before, also=after.queue)
        return after

    async def _transfer(
        self,
        cmd: TransferByIntegrator,
        actor: Participant,
        queue: QueueName | None,
        address: str | None,
        note: str | None,
    ) -> tuple[Conversation, Conversation]:
        now = self._clock.now()
        async with self._tx() as tx:
            await tx.locks.tenant(cmd.tenant_id)
            conv = await tenant_conversation(
                tx, cmd.tenant_id, cmd.conversation_id, for_update=True
            )
            if not conv.is_open:
                raise InvalidTransition("this conversation has ended")
            if note is not None:  # shown to agents and stored with the transfer
                note = await self._redaction.redact(tx, conv.tenant_id, note, conv.id)
            offered = None if conv.offered_to is None else await tx.agents.get(conv.offered_to)
            changes: list[Change] = []
            if queue is not None:
                target = await tx.queues.get(conv.tenant_id, queue, for_update=True)
                if target is None:
                    raise NotFound(f"no queue is called {queue}")
                if conv.state is ConversationState.BOT:
                    # The bot's hand-over, refused as a start would be while the queue
                    # is full: the bot still has the visitor and can tell them.
                    check_room(target, self._limits)
                change = hand_to_queue(
                    conv,
                    by=actor,
                    queue=target,
                    offered=offered,
                    note=note,
                    note_id=EventId(new_id()),
                    now=now,
                )
                changes = [] if change is None else [change]
            else:
                assert address is not None
                changes = await self._offer(tx, conv, actor, address, offered, note)
            after = conv
            for change in changes:
                after = await tx.apply(change)
            if changes:
                await tx.commit()
        if changes:
            logger.info("conversation %s transferred by %s", conv.id, actor.kind)
        return conv, after

    async def _offer(
        self,
        tx: Transaction,
        conv: Conversation,
        actor: Participant,
        address: str,
        offered: Agent | None,
        note: str | None,
    ) -> list[Change]:
        to = await agent_at(tx, self._addresses, conv.tenant_id, address)
        # Whether it may be offered to them at all first: an agent who has the chat
        # already hears that rather than that they have no room.
        check_may_offer(conv, to)
        await check_can_take(tx, to, OfferKind.TRANSFER)
        queue = await tx.queues.get(conv.tenant_id, conv.queue, for_update=True)
        assert queue is not None  # a conversation's queue is never removed
        if conv.state is ConversationState.BOT:
            # It enters its queue before the offer: refused while the queue is full, as
            # the bot's hand-over (and a start) would be; the bot keeps the visitor.
            check_room(queue, self._limits)
        now = self._clock.now()
        if conv.state in (ConversationState.QUEUED, ConversationState.BOT):
            # Routed, if by hand: it counts for their idle time as the router's offers do.
            await tx.agents.set_routed(to.id, now)
        return offer_to_agent(
            conv,
            by=actor,
            to=to,
            queue=queue,
            offered=offered,
            note=note,
            note_id=EventId(new_id()),
            now=now,
        )

    def _optional_text(self, text: str | None, what: str) -> str | None:
        if text is None or not text.strip():
            return None
        return check_text(text.strip(), self._limits, what)
