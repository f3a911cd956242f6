"""Reawaken (the Genesys workbin), as rules: a held chat the visitor answered while its
agent could not take it waits in its queue *reserved* for that agent until
``Conversation.reserved_until`` (now + the queue's ``reawaken_window``), and only they
are offered it meanwhile; afterwards anybody is (that agent still preferred).

The reservation ends early, and the chat goes to whoever is free, when its agent can no
longer get it anyway: they passed on its offer or let it time out (``last_offered_to``),
or they no longer serve the queue with the skills it needs (removed from it or from the
directory). An agent who only went offline keeps it for the whole window: a desk that
reconnects, or an agent back from a break, should find their visitor waiting.

``business.reawaken`` runs the use cases around these: the clock that ends the
reservations due, and the agent desk's list of chats reserved for an agent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime, timedelta

from business.conversation import Change, Conversation
from business.errors import InvalidInput, InvalidTransition
from business.model import AgentId, ConversationState, Queue

MAX_REAWAKEN_WINDOW = 7 * 86400
"""The longest a chat may wait for its agent: a week (threads of messaging queues may
wait over a weekend)."""


def check_reawaken_window(seconds: int) -> int:
    """Seconds a held chat the visitor answered waits for its agent; 0 turns that off."""
    # bool is an int: True must not pass for one second.
    if isinstance(seconds, bool) or not 0 <= seconds <= MAX_REAWAKEN_WINDOW:
        raise InvalidInput(
            f"the reawaken window must be 0 (off) to {MAX_REAWAKEN_WINDOW} seconds, not {seconds}"
        )
    return seconds


def reservation_deadline(queue: Queue | None, now: datetime) -> datetime | None:
    """Until when a held chat of ``queue`` answered ``now`` waits for its agent alone;
    None: not at all (window 0, or the queue is gone)."""
    if queue is None or queue.reawaken_window <= 0:
        return None
    return now + timedelta(seconds=queue.reawaken_window)


def reserved_for(
    conv: Conversation, now: datetime, *, serving: Collection[AgentId] | None = None
) -> AgentId | None:
    """The agent ``conv`` is kept for at ``now``, or None when anybody may get it.

    ``serving``: the agents who serve its queue with the skills it needs, when the
    caller knows them (the router); a reservation for anybody else is over."""
    agent_id = conv.preferred_agent_id
    if (
        conv.state is not ConversationState.QUEUED
        or conv.reserved_until is None
        or conv.reserved_until <= now
        or agent_id is None
        # They passed on it, or let its offer time out: it is not kept for them.
        or conv.last_offered_to == agent_id
    ):
        return None
    if serving is not None and agent_id not in serving:
        return None
    return agent_id


def end_reservation(conv: Conversation) -> Change:
    """The chat no longer waits for its agent alone (no event: the visitor still waits,
    and the agent was told when it went back to the queue)."""
    if conv.reserved_until is None:
        raise InvalidTransition("this chat is not reserved for an agent")
    return Change(before=conv, conversation=dataclasses.replace(conv, reserved_until=None))
