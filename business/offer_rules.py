"""Offers, as changes of the conversation aggregate: a routed chat is offered to one
agent, who takes it (``accept_offer``) or not (``close_offer``: declined, timed out).

While offered the chat stays queued: the visitor keeps their place and sees nothing of
it. The offer and its end are events only the agent desk sees (``offer.made``,
``offer.closed``): they take a ``pos`` and no ``seq``, and the agent desk delivers them
with the rest, so an offer lost with the link is sent again on reconnect. The visitor
sees the agent join (``participant.joined``, then ``state.changed`` to active) only on
acceptance.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from business.conversation import Change, ChangeBuilder, Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import (
    OfferMade,
    OfferOutcome,
)
from business.member_messages import accepted_message
from business.member_rules import accept_person_offer
from business.model import (
    Agent,
    AgentId,
    ConversationState,
    EventId,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.supervision_rules import add_monitors, drop_monitors


def make_offer(
    conv: Conversation, agent: Agent, now: datetime, timeout: float, *, take: bool = False
) -> Change:
    """Offer a queued chat to ``agent`` for ``timeout`` seconds; with ``take``, the agent
    takes it in the same change (auto-accept), so what is published is the chat theirs.

    Delivery to the agent starts at the offer: it carries what the visitor wrote while
    waiting, and what they write while it is open follows it.
    """
    if conv.state is not ConversationState.QUEUED:
        raise InvalidTransition(f"conversation is {conv.state}, it cannot be offered")
    if conv.offered_to is not None:
        raise InvalidTransition("this chat is already offered to somebody")
    expires_at = now + timedelta(seconds=timeout)
    builder = ChangeBuilder(conv)
    builder.update(
        offered_to=agent.id,
        offered_name=agent.name,
        offer_expires_at=expires_at,
        agent_delivered_pos=conv.last_pos,
    )
    builder.add_hidden(
        lambda pos: OfferMade(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            agent=agent.as_participant(),
            expires_at=expires_at,
        )
    )
    add_monitors(builder, tuple(m for m in agent.monitored_by if conv.queue in m.queues), now)
    if take:
        _accept_into(builder, agent.id, now)
    return builder.done()


def accept_offer(
    conv: Conversation, agent_id: AgentId, now: datetime, *, member_cursor: int = 0
) -> Change:
    """The offered agent takes the chat (``!accept``): it becomes active with them."""
    builder = ChangeBuilder(conv)
    _accept_into(builder, agent_id, now, member_cursor)
    return builder.done()


def accept_with_message(
    conv: Conversation,
    agent_id: AgentId,
    *,
    id: EventId,
    text: str,
    client_msg_id: str | None,
    now: datetime,
    attachments: tuple[str, ...] = (),
    member_cursor: int = 0,
) -> Change:
    """The offered agent takes the chat by writing to the visitor: the acceptance and
    the message are one change (one commit, one seq after the other). ``member_cursor``:
    how far delivery to them as the offered member came (a transfer makes it the
    owner's cursor)."""
    builder = ChangeBuilder(conv)
    _accept_into(builder, agent_id, now, member_cursor)
    accepted_message(
        builder,
        agent_id,
        id=id,
        text=text,
        client_msg_id=client_msg_id,
        now=now,
        attachments=attachments,
    )
    return builder.done()


def _accept_into(
    builder: ChangeBuilder, agent_id: AgentId, now: datetime, member_cursor: int = 0
) -> None:
    conv = builder.conversation
    check_offered_to(conv, agent_id)
    if conv.offer_kind is not OfferKind.ROUTE:
        accept_person_offer(builder, agent_id, now, member_cursor)
        return
    joined = Participant(kind=ParticipantKind.AGENT, name=conv.offered_name or "Agent", id=agent_id)
    builder.close_offer(OfferOutcome.ACCEPTED, now)
    builder.transition(ConversationState.ACTIVE, now)
    builder.update(agent_id=agent_id, agent_name=joined.name, assigned_at=now)
    builder.joined(joined, "owner", now)
    builder.state_changed(now)


def close_offer(
    conv: Conversation, outcome: OfferOutcome, now: datetime, *, agent: Agent | None = None
) -> Change:
    """End the open offer without acceptance: the chat waits for the next agent (or
    stays with its own). ``agent``, the one it was offered to: the supervisors who
    monitor their chats and came with the offer stop watching it."""
    if conv.offered_to is None:
        raise InvalidTransition("this chat is not offered to anybody now")
    builder = ChangeBuilder(conv)
    builder.close_offer(outcome, now)
    if agent is not None:
        drop_monitors(builder, agent.monitored_by, now)
    return builder.done()


def extend_offer(conv: Conversation, expires_at: datetime) -> Change:
    """Move the open offer's deadline (no event: the agent's offer text stands)."""
    if conv.offered_to is None:
        raise InvalidTransition("this chat is not offered to anybody now")
    return Change(before=conv, conversation=dataclasses.replace(conv, offer_expires_at=expires_at))


def check_offered_to(conv: Conversation, agent_id: AgentId) -> None:
    """Refuse, saying why, unless ``conv`` is offered to ``agent_id`` now."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.agent_id == agent_id:
        raise InvalidTransition("you already have this chat")
    if conv.offered_to != agent_id:
        if conv.member(agent_id) is not None:
            raise InvalidTransition("you are in this chat already")
        if conv.agent_id is not None and conv.state is ConversationState.QUEUED:
            raise Forbidden("another agent took this chat")
        if conv.agent_id is not None and conv.last_offered_to == agent_id:
            raise Forbidden("another agent took this chat")
        raise Forbidden("this chat is not offered to you (the offer was withdrawn)")
