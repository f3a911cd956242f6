"""Offers as use cases: take one (``!accept``, or by writing to the visitor: see
``business.messaging``), pass it on (``!decline``), and let the ones nobody answered
time out.

The deadline of an open offer is stored (``Conversation.offer_expires_at``), so an offer
outlives a restart: ``OfferClock`` reads the offers due from the database, not from
timers. An offer that times out goes to the next agent, and the silent agent is set not
ready until they send available presence again ("Not responding"): a desk that does not
answer must not keep receiving chats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from business import commands as c
from business.access import any_conversation
from business.background import Background
from business.conversation import Conversation
from business.errors import Conflict, DomainError, NotFound
from business.events import OfferOutcome
from business.inactivity_rules import on_taken, on_transferred
from business.model import DEFAULT_OFFER_TIMEOUT, Agent, AgentId, ConversationId, OfferKind
from business.offer_rules import accept_offer, check_offered_to, close_offer, extend_offer
from business.ports import Clock
from business.routing import Router
from business.transactions import Transaction, Transactions, retrying

logger = logging.getLogger(__name__)

_FOREVER = timedelta(days=3650)
_ALL_OPEN = 10_000
"""Open offers given their time again at most at once (far more than agents' places)."""
_DUE_PER_ROUND = 100
"""Offers expired per read of the due ones at most; the next round takes the rest."""


class OfferService:
    def __init__(self, *, transactions: Transactions, router: Router, clock: Clock) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock

    async def accept(self, cmd: c.AcceptOffer) -> Conversation:
        """The offered agent takes the chat without writing anything yet; the visitors
        behind it move up."""
        accepted = await retrying(lambda: self._accept(cmd))
        await self._router.dispatch(accepted.tenant_id, accepted.queue)
        return accepted

    async def _accept(self, cmd: c.AcceptOffer) -> Conversation:
        async with self._tx() as tx:
            conv = await any_conversation(tx, cmd.conversation_id, for_update=True)
            cursor = await _member_cursor(tx, conv, cmd.agent_id)
            now = self._clock.now()
            change = accept_offer(conv, cmd.agent_id, now, member_cursor=cursor)
            if conv.offer_kind is OfferKind.ROUTE:
                change = on_taken(change, await tx.queues.get(conv.tenant_id, conv.queue), now)
            elif conv.offer_kind is OfferKind.TRANSFER:
                queue = await tx.queues.get(conv.tenant_id, conv.queue)
                change = on_transferred(change, queue, now)
            accepted = await tx.apply(change)
            await tx.commit()
        logger.info("conversation %s accepted by agent %s", conv.id, cmd.agent_id)
        return accepted

    async def decline(self, cmd: c.DeclineOffer) -> Conversation:
        """The offered agent passes: the chat goes to the next agent (never them next)."""
        declined, agent = await retrying(lambda: self._decline(cmd))
        logger.info("conversation %s declined by agent %s", declined.id, cmd.agent_id)
        await self._router.dispatch(declined.tenant_id, declined.queue)
        # The place the offer held is free again, in every queue of the agent.
        for queue in () if agent is None else agent.queues:
            if queue != declined.queue:
                await self._router.dispatch(declined.tenant_id, queue)
        return declined

    async def grant_time(self, only: Callable[[ConversationId], bool] | None = None) -> int:
        """Give every open offer (of the conversations ``only`` admits) its queue's full
        time from now, at least: called when offers can reach agents again (the link is
        back, the engine restarted), so an offer nobody could see does not time out at
        once and set its agent not ready."""
        now = self._clock.now()
        async with self._tx.read() as tx:
            offered = await tx.conversations.list_offers_due(now + _FOREVER, _ALL_OPEN)
        granted = 0
        for seen in offered:
            if only is not None and not only(seen.id):
                continue
            async with self._tx() as tx:
                conv = await tx.conversations.get(seen.id, for_update=True)
                if conv is None or conv.offered_to is None or conv.offer_expires_at is None:
                    continue
                queue = await tx.queues.get(conv.tenant_id, conv.queue)
                timeout = DEFAULT_OFFER_TIMEOUT if queue is None else queue.offer_timeout
                deadline = now + timedelta(seconds=timeout)
                if conv.offer_expires_at >= deadline:
                    continue
                await tx.apply(extend_offer(conv, deadline))
                await tx.commit()
                granted += 1
        if granted:
            logger.info("%d open offers get their full time again", granted)
        return granted

    async def _decline(self, cmd: c.DeclineOffer) -> tuple[Conversation, Agent | None]:
        async with self._tx() as tx:
            conv = await any_conversation(tx, cmd.conversation_id, for_update=True)
            check_offered_to(conv, cmd.agent_id)
            agent = await tx.agents.get(cmd.agent_id)
            change = close_offer(conv, OfferOutcome.DECLINED, self._clock.now(), agent=agent)
            declined = await tx.apply(change)
            await tx.commit()
        return declined, agent

    async def expire_due(self) -> int:
        """Time out the offers whose deadline has passed; returns how many. Each goes to
        the next agent; each silent agent is set not ready."""
        now = self._clock.now()
        async with self._tx.read() as tx:
            due = await tx.conversations.list_offers_due(now, _DUE_PER_ROUND)
        expired = 0
        for conv in due:
            try:
                if await self._expire(conv):
                    expired += 1
            except DomainError as exc:
                # Taken or ended meanwhile: nothing to expire.
                logger.info("offer of conversation %s not expired: %s", conv.id, exc)
        return expired

    async def _expire(self, seen: Conversation) -> bool:
        async with self._router.tenant_lock(seen.tenant_id), self._tx() as tx:
            await tx.locks.tenant(seen.tenant_id)
            conv = await tx.conversations.get(seen.id, for_update=True)
            now = self._clock.now()
            if conv is None:
                raise NotFound("unknown conversation")
            agent_id = conv.offered_to
            if agent_id is None or conv.offer_expires_at is None or conv.offer_expires_at > now:
                return False
            routed = conv.offer_kind is OfferKind.ROUTE
            agent = await tx.agents.get(agent_id, for_update=True)
            await tx.apply(close_offer(conv, OfferOutcome.TIMED_OUT, now, agent=agent))
            # Only a routed chat left unanswered makes the agent not ready: a colleague's
            # transfer, invitation or consult is theirs to ignore.
            if routed and agent is not None and agent.ready:
                await tx.agents.set_ready(agent_id, False, None)
            await tx.commit()
        if not routed:
            logger.info("offer of conversation %s to agent %s timed out", conv.id, agent_id)
            return True
        logger.info(
            "offer of conversation %s to agent %s timed out; the agent is not ready "
            "(not responding)",
            conv.id,
            agent_id,
        )
        await self._router.dispatch(conv.tenant_id, conv.queue)
        return True


async def _member_cursor(tx: Transaction, conv: Conversation, agent_id: AgentId) -> int:
    """How far delivery to ``agent_id`` as the member offered a transfer came: where
    delivery to them as the owner goes on from (0 for any other offer)."""
    if conv.offered_to != agent_id or conv.offer_kind is not OfferKind.TRANSFER:
        return 0
    return await tx.members.cursor(conv.id, agent_id) or 0


class OfferClock(Background):
    """Expires offers in the background: every ``interval`` seconds, the ones due.

    ``active`` says whether this process may expire offers now: only while the agent
    desk can deliver, or a lost link would set every offered agent not ready for
    offers they never saw.

    ``grant_to`` says which conversations' offers a clock that becomes active gives
    their time again: those that could not reach agents because this process could not
    deliver them. With several engine processes, the conversations this one delivers
    (``business.delivery_ownership``), or all of them while no other process runs;
    the others' offers went on reaching agents through them (a dead process's through
    the one that took its chats over), and a rolling restart would otherwise give every
    open offer of the whole database its full time once per process.
    """

    def __init__(
        self,
        offers: OfferService,
        *,
        interval: float = 1.0,
        active: Callable[[], bool] = lambda: True,
        grant_to: Callable[[ConversationId], bool] | None = None,
    ) -> None:
        super().__init__("offer-clock")
        self._offers = offers
        self._interval = interval
        self._active = active
        self._grant_to = grant_to

    async def _run(self) -> None:
        was_active = False
        while True:
            if self._active() and not was_active:
                # Offers could not reach agents until now: time starts again.
                try:
                    await self._offers.grant_time(self._grant_to)
                    was_active = True
                except Exception:
                    logger.exception("could not give the open offers their time; trying again")
            elif not self._active():
                was_active = False
            if was_active:
                try:
                    await self._offers.expire_due()
                except Conflict:
                    pass  # another writer got there first; the next round looks again
                except Exception:
                    logger.exception("could not expire the offers due; trying again")
            await asyncio.sleep(self._interval)
