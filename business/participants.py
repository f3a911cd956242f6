"""Several agents in one chat: transfer it (to an agent or a queue), invite a colleague
into a conference, consult one invisibly, leave. The rules are in
``business.member_rules``; the offers these make are answered like any offer
(``business.offers``: accept by writing or ``!accept``, ``!decline``, the queue's
timeout).

To a person: the offer goes to that agent, who must be ready; a transfer or invitation
also needs a free place within their capacity (a consult does not: it is a question,
not a chat). To a queue: a transfer hands the chat back to that queue; an invitation or
consult is offered to the agent the router would pick there now, and refused if nobody
there can take it.
"""

from __future__ import annotations

import logging

from business import commands as c
from business.access import any_conversation
from business.conversation import Conversation
from business.errors import InvalidInput, InvalidTransition, NotFound
from business.member_rules import (
    DOING,
    check_no_open_offer,
    check_owner,
    leave,
    offer_to_person,
    transfer_to_queue,
)
from business.model import DEFAULT_OFFER_TIMEOUT, Agent, OfferKind, QueueName, TenantId
from business.ports import AddressNormalizer, Clock
from business.redaction_policy import RedactionPolicy
from business.routing import Router, agent_loads, choose_agent
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits, check_text

logger = logging.getLogger(__name__)


class ParticipantService:
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

    async def offer(self, cmd: c.OfferToColleague) -> Conversation:
        """Make the offer ``cmd`` asks for; returns the conversation after it."""
        target = cmd.target.strip()
        if not target:
            raise InvalidInput("name an agent's address or a queue")
        note = None
        if cmd.note is not None and cmd.note.strip():
            note = check_text(cmd.note.strip(), self._limits, "note")
        tenant_id = await self._tenant_of(cmd)
        async with self._router.tenant_lock(tenant_id):
            conv = await retrying(lambda: self._offer(cmd, target, note, tenant_id))
        if conv.state.value == "queued":
            await self._router.dispatch(conv.tenant_id, conv.queue)
        return conv

    def seconds_left(self, conv: Conversation) -> int:
        """Seconds until the open offer of ``conv`` times out (0: none open)."""
        if conv.offer_expires_at is None:
            return 0
        return max(0, round((conv.offer_expires_at - self._clock.now()).total_seconds()))

    async def _tenant_of(self, cmd: c.OfferToColleague) -> TenantId:
        async with self._tx.read() as tx:
            conv = await any_conversation(tx, cmd.conversation_id)
        return conv.tenant_id

    async def _offer(
        self, cmd: c.OfferToColleague, target: str, note: str | None, tenant_id: TenantId
    ) -> Conversation:
        now = self._clock.now()
        async with self._tx() as tx:
            await tx.locks.tenant(tenant_id)
            conv = await any_conversation(tx, cmd.conversation_id, for_update=True)
            check_owner(conv, cmd.agent_id, DOING[cmd.kind])
            check_no_open_offer(conv, now)
            if note is not None:  # the colleague reads it, and it is stored with the offer
                note = await self._redaction.redact(tx, conv.tenant_id, note, conv.id)
            queue = await tx.queues.get(conv.tenant_id, QueueName(target))
            if "@" not in target and queue is None:
                raise NotFound(f"no agent or queue is called {target}")
            if "@" not in target and cmd.kind is OfferKind.TRANSFER:
                assert queue is not None
                change = transfer_to_queue(
                    conv,
                    by=cmd.agent_id,
                    queue=queue.name,
                    position=queue.waiting + 1,
                    note=note,
                    now=now,
                )
                logger.info("conversation %s transferred to queue %s", conv.id, queue.name)
            else:
                to = await self._person(tx, conv, cmd, target)
                settings = queue or await tx.queues.get(conv.tenant_id, conv.queue)
                timeout = DEFAULT_OFFER_TIMEOUT if settings is None else settings.offer_timeout
                change = offer_to_person(
                    conv,
                    by=cmd.agent_id,
                    to=to,
                    kind=cmd.kind,
                    note=note,
                    now=now,
                    timeout=timeout,
                )
                logger.info(
                    "conversation %s: %s offered to agent %s", conv.id, cmd.kind.value, to.id
                )
            after = await tx.apply(change)
            await tx.commit()
        return after

    async def _person(
        self, tx: Transaction, conv: Conversation, cmd: c.OfferToColleague, target: str
    ) -> Agent:
        """The agent to offer to: the one at ``target``'s address, or the one the router
        would pick in the queue called ``target``."""
        if "@" in target:
            agent = await agent_at(tx, self._addresses, conv.tenant_id, target)
            if agent.id != cmd.agent_id and agent.id != conv.agent_id:
                await check_can_take(tx, agent, cmd.kind)
            return agent
        queue = QueueName(target)
        agents = [
            a
            for a in await tx.agents.list_for_queue(conv.tenant_id, queue)
            if a.id != conv.agent_id and conv.member(a.id) is None
        ]
        consult = cmd.kind is OfferKind.CONSULT
        loads = {} if consult else await agent_loads(tx, conv.tenant_id, agents)
        chosen = choose_agent(agents, loads)
        if chosen is None:
            raise InvalidTransition(f"nobody in queue {queue} can take it now")
        return chosen

    async def leave(self, cmd: c.LeaveConversation) -> Conversation:
        """An invited agent or consultant leaves the chat; it goes on without them."""
        conv = await retrying(lambda: self._leave(cmd))
        logger.info("conversation %s: agent %s left", conv.id, cmd.agent_id)
        # Their place is free again.
        async with self._tx.read() as tx:
            agent = await tx.agents.get(cmd.agent_id)
        for queue in () if agent is None else agent.queues:
            await self._router.dispatch(conv.tenant_id, queue)
        return conv

    async def _leave(self, cmd: c.LeaveConversation) -> Conversation:
        async with self._tx() as tx:
            conv = await any_conversation(tx, cmd.conversation_id, for_update=True)
            after = await tx.apply(leave(conv, cmd.agent_id, self._clock.now()))
            await tx.commit()
        return after


async def agent_at(
    tx: Transaction, addresses: AddressNormalizer, tenant_id: TenantId, address: str
) -> Agent:
    """The agent of ``tenant_id`` at ``address``; ``NotFound`` for anybody else's, as for
    nobody's."""
    agent = await tx.agents.get_by_address(addresses.normalize(address))
    if agent is None or agent.tenant_id != tenant_id:
        raise NotFound(f"no agent has the address {address}")
    return agent


async def check_can_take(tx: Transaction, agent: Agent, kind: OfferKind) -> None:
    """Refuse, saying why, unless ``agent`` can be offered a chat of ``kind`` now: ready,
    and with a free place within their capacity (a consult needs none: it is a
    question, not a chat)."""
    if not agent.ready:
        raise InvalidTransition(f"{agent.name} is not ready now")
    if kind is not OfferKind.CONSULT:
        load = (await agent_loads(tx, agent.tenant_id, [agent])).get(agent.id, 0)
        if load >= agent.max_chats:
            raise InvalidTransition(
                f"{agent.name} has no free place ({load} of {agent.max_chats} chats)"
            )
