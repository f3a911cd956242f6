"""Several agents in one conversation, as changes of the aggregate: offers to a person
(transfer, invitation, consult), their acceptance, leaving, and a transfer back to a
queue.

Whom the visitor sees is decided here: an invited agent joins and leaves visibly
(``participant.joined``/``.left``); a consultant only in events the agent desk sees
(``member.joined``/``.left``), and what they write is a ``desk.message``. An accepted
transfer is one visible ``participant.left`` (the old owner) and one
``participant.joined`` (the new one). Offers are events only the agent desk sees, so a
declined or unanswered one leaves no trace in the visitor's stream.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from business.changes import Change, ChangeBuilder
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition
from business.events import (
    MemberJoined,
    OfferMade,
    OfferOutcome,
    Transferred,
)
from business.member_ports import MemberJoin, MemberPromote, MemberRoleSet
from business.model import (
    Agent,
    AgentId,
    ConversationState,
    Member,
    MemberRole,
    OfferKind,
    Participant,
    QueueName,
)
from business.supervision_rules import add_monitors

DOING = {
    OfferKind.TRANSFER: "transfer this chat",
    OfferKind.INVITE: "invite somebody into this chat",
    OfferKind.CONSULT: "consult somebody on this chat",
    OfferKind.ROUTE: "offer this chat",
}
"""What the owner does with each kind of offer, for refusals."""

_ROLE_AFTER = {OfferKind.INVITE: MemberRole.INVITED, OfferKind.CONSULT: MemberRole.CONSULTANT}


def check_owner(conv: Conversation, agent_id: AgentId, doing: str) -> None:
    """Refuse, saying why, unless ``agent_id`` owns the active conversation."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.agent_id != agent_id:
        raise Forbidden(f"only the agent who has the chat can {doing}")
    if conv.state is not ConversationState.ACTIVE:
        raise InvalidTransition(f"the chat is {conv.state}: you cannot {doing} it now")


def offer_to_person(
    conv: Conversation,
    *,
    by: AgentId,
    to: Agent,
    kind: OfferKind,
    note: str | None,
    now: datetime,
    timeout: float,
) -> Change:
    """The owner offers the chat (``TRANSFER``), a place in it (``INVITE``) or an
    invisible place in it (``CONSULT``) to ``to``, for ``timeout`` seconds. The offered
    agent becomes a member with role ``offered``: delivery to them starts with the
    offer, which carries the transcript."""
    check_owner(conv, by, DOING[kind])
    return person_offer(
        conv, by=conv.agent, by_agent=by, to=to, kind=kind, note=note, now=now, timeout=timeout
    )


def person_offer(
    conv: Conversation,
    *,
    by: Participant,
    by_agent: AgentId | None,
    to: Agent,
    kind: OfferKind,
    note: str | None,
    now: datetime,
    timeout: float,
) -> Change:
    """``offer_to_person`` once the offer may be made: ``by`` makes it, the owner
    (``by_agent``, their id) or an integrator (``by_agent`` None)."""
    if to.id == conv.agent_id:
        raise InvalidTransition("you have this chat already")
    if conv.member(to.id) is not None:
        raise InvalidTransition(f"{to.name} is in this chat already")
    check_no_open_offer(conv, now)
    expires_at = now + timedelta(seconds=timeout)
    builder = ChangeBuilder(conv)
    builder.update(
        offered_to=to.id,
        offered_name=to.name,
        offer_expires_at=expires_at,
        offer_kind=kind,
        offer_by=by_agent,
        offer_note=note,
        members=(*conv.members, Member(agent_id=to.id, name=to.name, role=MemberRole.OFFERED)),
    )
    offer = builder.add_hidden(
        lambda pos: OfferMade(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            agent=to.as_participant(),
            expires_at=expires_at,
            kind=kind,
            by=by,
            note=note,
        )
    )
    builder.write_member(
        MemberJoin(
            agent_id=to.id,
            name=to.name,
            role=MemberRole.OFFERED,
            joined_pos=offer.pos,
            delivered_pos=offer.pos - 1,
        )
    )
    if kind is OfferKind.TRANSFER:
        # The chat may become theirs: those who monitor all of their chats watch it.
        add_monitors(builder, tuple(m for m in to.monitored_by if conv.queue in m.queues), now)
    return builder.done()


def check_no_open_offer(conv: Conversation, now: datetime) -> None:
    """Refuse, saying to whom and for how long, while an offer of ``conv`` is open: one
    at a time."""
    if conv.offered_to is not None:
        left = "" if conv.offer_expires_at is None else _seconds_left(conv, now)
        raise InvalidTransition(
            f"the chat is offered to {conv.offered_name or 'another agent'} now{left}: "
            "wait for their answer"
        )


def _seconds_left(conv: Conversation, now: datetime) -> str:
    assert conv.offer_expires_at is not None
    return f" ({max(0, round((conv.offer_expires_at - now).total_seconds()))} s left)"


def accept_person_offer(
    builder: ChangeBuilder, agent_id: AgentId, now: datetime, member_cursor: int = 0
) -> None:
    """The offered agent takes a transfer, invitation or consult (``builder`` holds the
    conversation, checked to be offered to them)."""
    conv = builder.conversation
    kind = conv.offer_kind
    member = conv.member(agent_id)
    name = member.name if member is not None else conv.offered_name or "Agent"
    joined = Participant(kind=conv.agent.kind, name=name, id=agent_id)
    note = conv.offer_note
    builder.close_offer(OfferOutcome.ACCEPTED, now)
    others = tuple(m for m in builder.conversation.members if m.agent_id != agent_id)
    if kind is OfferKind.TRANSFER:
        _take_over(builder, joined, others, note, now, member_cursor)
        return
    role = _ROLE_AFTER[kind]
    builder.set_members((*others, Member(agent_id=agent_id, name=name, role=role)))
    builder.write_member(MemberRoleSet(agent_id=agent_id, role=role))
    if role is MemberRole.INVITED:
        builder.joined(joined, MemberRole.INVITED.value, now)
    else:
        builder.add_hidden(
            lambda pos: MemberJoined(
                conversation_id=conv.id, pos=pos, created_at=now, agent=joined, role=role
            )
        )


def _take_over(
    builder: ChangeBuilder,
    joined: Participant,
    others: tuple[Member, ...],
    note: str | None,
    now: datetime,
    member_cursor: int,
) -> None:
    conv = builder.conversation
    old = conv.agent
    old_cursor = conv.agent_delivered_pos
    builder.left(old, "owner", now)
    builder.joined(joined, "owner", now)
    builder.add_hidden(
        lambda pos: Transferred(
            conversation_id=conv.id, pos=pos, created_at=now, by=old, to=joined, note=note
        )
    )
    assert joined.id is not None
    assert old.id is not None
    # The new owner's cursor is the one they had as the offered member (as read by the
    # caller, and raised in the store by ``promote`` if a later write moved it further);
    # the old owner is delivered up to the transfer through a row of their own.
    builder.update(
        agent_id=AgentId(joined.id),
        agent_name=joined.name,
        assigned_at=now,
        agent_delivered_pos=member_cursor,
        members=others,
    )
    builder.write_member(MemberPromote(agent_id=AgentId(joined.id)))
    builder.write_member(
        MemberJoin(
            agent_id=AgentId(old.id),
            name=old.name,
            role=MemberRole.FORMER,
            joined_pos=builder.conversation.last_pos,
            delivered_pos=old_cursor,
            left_pos=builder.conversation.last_pos,
        )
    )


def transfer_to_queue(
    conv: Conversation,
    *,
    by: AgentId,
    queue: QueueName,
    position: int,
    note: str | None,
    now: datetime,
) -> Change:
    """The owner hands the chat back to ``queue`` (their own or another): they leave
    (visibly), the visitor waits at ``position`` and the router offers it to the next
    agent there, never to them first."""
    check_owner(conv, by, DOING[OfferKind.TRANSFER])
    check_no_open_offer(conv, now)
    others = [m for m in conv.members if m.role is not MemberRole.MONITOR]
    if others:
        raise InvalidTransition(
            f"{others[0].name} is in this chat too: they !leave first, or !transfer to them"
        )
    builder = ChangeBuilder(conv)
    requeue(builder, by=conv.agent, queue=queue, position=position, note=note, now=now)
    return builder.done()


def requeue(
    builder: ChangeBuilder,
    *,
    by: Participant,
    queue: QueueName,
    position: int,
    note: str | None,
    now: datetime,
) -> None:
    """``transfer_to_queue`` once it may be done, in ``builder`` (its conversation has
    an owner, no open offer, no members but monitors): ``by`` (the owner, or an
    integrator) hands it to ``queue``."""
    conv = builder.conversation
    assert conv.agent_id is not None
    old = conv.agent
    old_cursor = conv.agent_delivered_pos
    builder.left(old, "owner", now)
    builder.add_hidden(
        lambda pos: Transferred(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            by=by,
            to=None,
            queue=queue,
            note=note,
        )
    )
    builder.transition(ConversationState.QUEUED, now)
    builder.update(
        queue=queue,
        queue_position=position,
        agent_id=None,
        agent_name=None,
        assigned_at=None,
        last_offered_to=conv.agent_id,
        preferred_agent_id=None,
    )
    builder.state_changed(now)
    keep_delivering_former_owner(builder, old, old_cursor)


def keep_delivering_former_owner(builder: ChangeBuilder, old: Participant, cursor: int) -> None:
    """The owner who left in ``builder`` (``cursor``: how far they were delivered) is
    still delivered everything up to here, as a former member; the conversation's own
    cursor is nobody's until the next owner, whose offer moves it to itself."""
    last = builder.conversation.last_pos
    builder.update(agent_delivered_pos=last)
    assert old.id is not None
    builder.write_member(
        MemberJoin(
            agent_id=AgentId(old.id),
            name=old.name,
            role=MemberRole.FORMER,
            joined_pos=last,
            delivered_pos=cursor,
            left_pos=last,
        )
    )


def leave(conv: Conversation, agent_id: AgentId, now: datetime) -> Change:
    """An invited agent or a consultant leaves; the chat goes on."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.agent_id == agent_id:
        raise InvalidTransition("you have this chat: use !transfer or !end")
    member = conv.member(agent_id)
    if member is None:
        raise Forbidden("you are not in this chat")
    if member.role is MemberRole.OFFERED:
        raise InvalidTransition("the chat is only offered to you: use !decline")
    builder = ChangeBuilder(conv)
    if member.visible:
        builder.left(member.as_participant(), member.role.value, now)
    builder.remove_member(agent_id, now, announce=not member.visible)
    return builder.done()
