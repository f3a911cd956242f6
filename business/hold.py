"""Hold (``!hold`` / ``!unhold``): an agent parks a chat that waits on the visitor
(messaging mode), and it stops taking one of their places.

A held chat keeps its agent, who still gets everything in it, but only active chats count
toward an agent's capacity (``ConversationRepository.count_active_by_agent``), so the
router may offer them new chats meanwhile. The visitor sees ``state.changed`` to
``on_hold``. It comes back in one of two ways:

- the agent takes it back (``!unhold``), unless that would put them over their capacity;
- the visitor writes again: the message is stored as usual, then (``HoldService.resume``,
  after its commit) the chat goes back to its agent if they are ready and have room, and
  is told so in the chat's window (hidden ``hold.returned``); otherwise the agent leaves
  it (visible ``participant.left``) and it waits in its queue again, served before the
  visitors who came later (the queue is in order of the chats' start) and offered first
  to that agent (``preferred_agent_id``) when they can take it; for the queue's
  ``reawaken_window`` to nobody else (``business.reawaken_rules``).

While a chat is on hold its agent cannot write to the visitor (``!unhold`` first): an
answer without taking the chat back would leave the visitor talking to someone whose
places are all given to others. Notes and ``!end`` work as in an active chat.

The rules are pure functions returning a ``Change``; ``HoldService`` runs them in units of
work. Whatever can take an agent's place holds the router's tenant lock, like a dispatch,
so the load it counted stays true until it commits.
"""

from __future__ import annotations

import logging
from datetime import datetime

from business import commands as c
from business.access import agent_conversation, agents_own
from business.conversation import Change, ChangeBuilder, Conversation
from business.errors import Forbidden, InvalidTransition, NotFound
from business.events import ChatReturned
from business.model import Agent, AgentId, ConversationId, ConversationState, TenantId
from business.ports import Clock
from business.reawaken_rules import reservation_deadline
from business.routing import Router
from business.transactions import Transaction, Transactions, retrying
from business.validation import Limits

logger = logging.getLogger(__name__)

ON_HOLD = ConversationState.ON_HOLD

NOT_ACTIVE = "this chat is {state}: only an active chat can be put on hold"
ALREADY_ON_HOLD = "this chat is already on hold (!unhold takes it back)"
NOT_ON_HOLD = "this chat is not on hold"
WRITE_WHILE_HELD = "the chat is on hold: !unhold first"
BACK_IN_THE_QUEUE = (
    "the visitor wrote while the chat was on hold and you were not ready or had no room: "
    "it went back to the queue"
)
KEPT_FOR_YOU = (
    "the visitor wrote while the chat was on hold and you were not ready or had no room: "
    "it waits in the queue for you alone for a while, and is offered to you as soon as "
    "you are ready and have room (chats lists it)"
)


def at_capacity(max_chats: int) -> str:
    chats = "1 active chat" if max_chats == 1 else f"{max_chats} active chats"
    return f"you are at your maximum of {chats}: end one or put one on hold first"


# -- rules ----------------------------------------------------------------------------


def hold_chat(conv: Conversation, agent_id: AgentId, now: datetime) -> Change:
    """The chat's agent parks their active chat."""
    agents_own(conv, agent_id)
    if conv.state is ON_HOLD:
        raise InvalidTransition(ALREADY_ON_HOLD)
    if conv.state is not ConversationState.ACTIVE:
        if not conv.is_open:
            raise InvalidTransition("this conversation has ended")
        raise InvalidTransition(NOT_ACTIVE.format(state=conv.state.value))
    return _become(conv, ON_HOLD, now)


def unhold_chat(conv: Conversation, agent: Agent, now: datetime, *, active_chats: int) -> Change:
    """The chat's agent takes their held chat back; ``active_chats``: how many chats
    count toward their capacity now (open offers included)."""
    agents_own(conv, agent.id)
    _check_held(conv)
    if active_chats >= agent.max_chats:
        raise InvalidTransition(at_capacity(agent.max_chats))
    return _become(conv, ConversationState.ACTIVE, now)


def return_to_agent(conv: Conversation, now: datetime) -> Change:
    """The visitor wrote to their held chat and its agent can take it: active again, and
    the agent is told why (hidden ``hold.returned``)."""
    _check_held(conv)
    builder = _builder(conv, ConversationState.ACTIVE, now)
    agent = conv.agent
    builder.add_hidden(
        lambda pos: ChatReturned(conversation_id=conv.id, pos=pos, created_at=now, agent=agent)
    )
    return builder.done()


def return_to_queue(
    conv: Conversation, now: datetime, position: int, *, reserved_until: datetime | None = None
) -> Change:
    """The visitor wrote to their held chat and its agent cannot take it: the agent leaves
    and the chat waits in its queue at ``position``, preferring that agent, and offered
    to nobody else until ``reserved_until`` (``business.reawaken_rules``)."""
    _check_held(conv)
    builder = ChangeBuilder(conv)
    agent = conv.agent
    builder.left(agent, "owner", now)
    builder.transition(ConversationState.QUEUED, now)
    builder.update(
        agent_id=None,
        agent_name=None,
        preferred_agent_id=conv.agent_id,
        queue_position=position,
        reserved_until=reserved_until,
    )
    builder.state_changed(now)
    return builder.done()


def check_agent_may_write(conv: Conversation | None, agent_id: AgentId) -> None:
    """Refuse, saying why, an agent's message to the visitor of a chat on hold, or of a
    chat the hold gave back to the queue. Reads only the aggregate (the message path)."""
    if conv is None:
        return
    if conv.state is ON_HOLD and conv.agent_id == agent_id:
        raise InvalidTransition(WRITE_WHILE_HELD)
    if (
        conv.state is ConversationState.QUEUED
        and conv.agent_id is None
        and conv.offered_to != agent_id
        and conv.preferred_agent_id == agent_id
        # Last-agent routing prefers agents for chats they never had too; only a chat
        # taken before (``assigned_at`` stays) and queued again came back from a hold.
        and conv.assigned_at is not None
    ):
        raise Forbidden(BACK_IN_THE_QUEUE if conv.reserved_until is None else KEPT_FOR_YOU)


def _check_held(conv: Conversation) -> None:
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.state is not ON_HOLD:
        raise InvalidTransition(NOT_ON_HOLD)


def _builder(conv: Conversation, to: ConversationState, now: datetime) -> ChangeBuilder:
    builder = ChangeBuilder(conv)
    builder.transition(to, now)
    builder.state_changed(now)
    return builder


def _become(conv: Conversation, to: ConversationState, now: datetime) -> Change:
    return _builder(conv, to, now).done()


# -- use cases --------------------------------------------------------------------------


class HoldService:
    def __init__(
        self, *, transactions: Transactions, router: Router, clock: Clock, limits: Limits
    ) -> None:
        self._tx = transactions
        self._router = router
        self._clock = clock
        self._limits = limits

    async def hold(self, cmd: c.HoldChat) -> Conversation:
        """Park the agent's active chat; the place it took is free at once, so the
        agent's queues move on if they are ready."""
        held = await retrying(lambda: self._hold(cmd))
        logger.info("conversation %s put on hold by agent %s", held.id, cmd.agent_id)
        async with self._tx.read() as tx:
            agent = await tx.agents.get(cmd.agent_id)
        if agent is not None and agent.ready:
            for queue in agent.queues:
                await self._router.dispatch(agent.tenant_id, queue)
        return held

    async def _hold(self, cmd: c.HoldChat) -> Conversation:
        async with self._tx() as tx:
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            held = await tx.apply(hold_chat(conv, cmd.agent_id, self._clock.now()))
            await tx.commit()
        return held

    async def unhold(self, cmd: c.UnholdChat) -> Conversation:
        """Take a held chat back; refused when it would put the agent over capacity."""
        async with self._tx.read() as tx:
            seen = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id, for_update=False)
        back = await retrying(lambda: self._unhold(cmd, seen))
        logger.info("conversation %s taken off hold by agent %s", back.id, cmd.agent_id)
        return back

    async def _unhold(self, cmd: c.UnholdChat, seen: Conversation) -> Conversation:
        async with self._router.tenant_lock(seen.tenant_id), self._tx() as tx:
            await tx.locks.tenant(seen.tenant_id)
            conv = await agent_conversation(tx, cmd.agent_id, cmd.conversation_id)
            agent = await tx.agents.get(cmd.agent_id)
            if agent is None:
                raise NotFound("unknown agent")
            active = await _active_chats(tx, agent)
            change = unhold_chat(conv, agent, self._clock.now(), active_chats=active)
            back = await tx.apply(change)
            await tx.commit()
        return back

    async def resume(
        self, tenant_id: TenantId, conversation_id: ConversationId
    ) -> Conversation | None:
        """The visitor wrote to their held chat (the message is stored): back to its
        agent if they are ready and have room, else to the queue, which then moves on.
        None when it is no longer on hold (taken back or ended meanwhile)."""
        resumed = await retrying(lambda: self._resume(tenant_id, conversation_id))
        if resumed is not None and resumed.state is ConversationState.QUEUED:
            await self._router.dispatch(tenant_id, resumed.queue)
        return resumed

    async def _resume(
        self, tenant_id: TenantId, conversation_id: ConversationId
    ) -> Conversation | None:
        async with self._router.tenant_lock(tenant_id), self._tx() as tx:
            await tx.locks.tenant(tenant_id)
            conv = await tx.conversations.get(conversation_id, for_update=True)
            if conv is None or conv.state is not ON_HOLD or conv.agent_id is None:
                return None
            now = self._clock.now()
            agent = await tx.agents.get(conv.agent_id)
            if (
                agent is not None
                and agent.ready
                and await _active_chats(tx, agent) < agent.max_chats
            ):
                change = return_to_agent(conv, now)
            else:
                window = self._limits.queue_position_window
                head = await tx.conversations.list_queued(tenant_id, conv.queue, limit=window)
                ahead = sum(1 for q in head if (q.created_at, q.id) < (conv.created_at, conv.id))
                queue = await tx.queues.get(tenant_id, conv.queue)
                until = None if agent is None else reservation_deadline(queue, now)
                change = return_to_queue(conv, now, ahead + 1, reserved_until=until)
            resumed = await tx.apply(change)
            await tx.commit()
        where = "its agent" if resumed.state is ConversationState.ACTIVE else "the queue"
        if resumed.reserved_until is not None:
            where += f", kept for agent {resumed.preferred_agent_id} until {resumed.reserved_until}"
        logger.info("conversation %s: the visitor wrote on hold, back to %s", resumed.id, where)
        return resumed


async def _active_chats(tx: Transaction, agent: Agent) -> int:
    """What counts toward the agent's capacity now: active chats and open offers."""
    loads = await tx.conversations.count_active_by_agent(agent.tenant_id, [agent.id])
    return loads.get(agent.id, 0)
