"""An integrator's transfers, as changes of the aggregate: hand a conversation to a queue,
or offer it to an agent. The integrator acts as a bot or the system (``by``), not as an
agent, so nobody's ownership is checked; what happens to the chat is what an agent's
``!transfer`` does (``business.member_rules``), or for a waiting chat what the router's
offer does (``business.offer_rules``).

An integrator's transfer overrides what is going on in the chat: an open offer is
withdrawn (the agent it was offered to is told, as when a chat ends while offered), and
a transfer to a queue takes the agents invited or consulted with the owner out of the
chat (invited ones leave visibly), where an agent's own ``!transfer`` would ask them to
``!leave`` first: an integrator cannot ask them anything.

A chat with the bot (state ``bot``) has no agent to hand it on: a transfer to a queue is
the bot's hand-over (``business.bot_rules.enter_queue``: it waits there as a chat that
just started would, and no transfer is counted, as none is when the rules bot hands
over), and an offer to an agent is the router's offer of a waiting chat, made once the
chat has entered its own queue that way (declined or unanswered, it waits there for the
next agent). The router's offer carries no note, so for a waiting chat the integrator's
note becomes a note for the agents (``note.added``, by the integrator), which the offer's
transcript shows.
"""

from __future__ import annotations

from datetime import datetime

from business.bot_rules import enter_queue
from business.changes import Change, ChangeBuilder
from business.conversation import Conversation
from business.errors import InvalidTransition
from business.events import NoteAdded, OfferOutcome, Transferred
from business.member_rules import person_offer, requeue
from business.model import (
    Agent,
    ConversationState,
    EventId,
    MemberRole,
    OfferKind,
    Participant,
    Queue,
)
from business.offer_rules import make_offer
from business.supervision_rules import drop_monitors


def withdraw_offer(builder: ChangeBuilder, offered: Agent | None, now: datetime) -> None:
    """Close the open offer, if any, as withdrawn; ``offered``, the agent it was made to:
    the supervisors who came into the chat with it (monitoring that agent) go too."""
    if builder.conversation.offered_to is None:
        return
    builder.close_offer(OfferOutcome.WITHDRAWN, now)
    if offered is not None:
        drop_monitors(builder, offered.monitored_by, now)


def hand_to_queue(
    conv: Conversation,
    *,
    by: Participant,
    queue: Queue,
    offered: Agent | None,
    note: str | None,
    note_id: EventId,
    now: datetime,
) -> Change | None:
    """``conv`` waits in ``queue`` from now on, at its end. A chat with an agent: they
    leave (visibly), as do the agents invited into it, and the router offers it to the
    next agent there, not to them first. A waiting chat changes queues (None if it waits
    in ``queue`` already). Monitors stay, as after an agent's ``!transfer``. A chat with
    the bot is handed over to ``queue`` (``note``, if any, as a note with ``note_id``).
    Whether ``queue`` has room for one more is the caller's to check first."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if conv.state is ConversationState.QUEUED and conv.queue == queue.name:
        return None
    builder = ChangeBuilder(conv)
    position = queue.waiting + 1
    if conv.state is ConversationState.BOT:
        _note(builder, by=by, note=note, note_id=note_id, now=now)
        enter_queue(builder, queue=queue.name, position=position, now=now)
        return builder.done()
    withdraw_offer(builder, offered, now)
    if conv.state is ConversationState.QUEUED:
        _move(builder, by=by, queue=queue, position=position, note=note, now=now)
        return builder.done()
    for member in builder.conversation.members:
        if member.role is MemberRole.MONITOR:
            continue
        if member.visible:
            builder.left(member.as_participant(), member.role.value, now)
        builder.remove_member(member.agent_id, now, announce=not member.visible)
    requeue(builder, by=by, queue=queue.name, position=position, note=note, now=now)
    return builder.done()


def _move(
    builder: ChangeBuilder,
    *,
    by: Participant,
    queue: Queue,
    position: int,
    note: str | None,
    now: datetime,
) -> None:
    conv = builder.conversation
    builder.add_hidden(
        lambda pos: Transferred(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            by=by,
            to=None,
            queue=queue.name,
            note=note,
        )
    )
    # Nobody passed it over in the new queue (a withdrawn offer is nobody's refusal).
    builder.update(queue=queue.name, queue_position=position, last_offered_to=None)
    builder.state_changed(now)


def _note(
    builder: ChangeBuilder, *, by: Participant, note: str | None, note_id: EventId, now: datetime
) -> None:
    if note is None:
        return
    cid = builder.conversation.id
    builder.add_hidden(
        lambda pos: NoteAdded(
            conversation_id=cid, pos=pos, created_at=now, id=note_id, by=by, text=note
        )
    )


def offer_to_agent(
    conv: Conversation,
    *,
    by: Participant,
    to: Agent,
    queue: Queue,
    offered: Agent | None,
    note: str | None,
    note_id: EventId,
    now: datetime,
) -> list[Change]:
    """Offer ``conv`` (of ``queue``) to ``to`` for the queue's offer timeout
    (``offered``: whom it is offered to now, if anybody; that offer is withdrawn). A
    waiting chat is offered as the router would (taken at once if they auto-accept),
    ``note`` made a note with ``note_id`` just before; a chat with the bot enters its
    queue first, as at a hand-over. A chat with an agent is offered as that agent's
    ``!transfer`` would: taken, it is ``to``'s and its agent leaves; declined or
    unanswered, it stays with its agent. The changes, in order."""
    check_may_offer(conv, to)
    builder = ChangeBuilder(conv)
    withdraw_offer(builder, offered, now)
    if conv.state in (ConversationState.QUEUED, ConversationState.BOT):
        _note(builder, by=by, note=note, note_id=note_id, now=now)
    if conv.state is ConversationState.BOT:
        enter_queue(builder, queue=queue.name, position=queue.waiting + 1, now=now)
    before_offer = builder.done()
    changes = [before_offer] if before_offer.events else []
    open_now = before_offer.conversation
    timeout = queue.offer_timeout
    if open_now.state is ConversationState.QUEUED:
        changes.append(make_offer(open_now, to, now, timeout, take=to.auto_accept))
        return changes
    changes.append(
        person_offer(
            open_now,
            by=by,
            by_agent=None,
            to=to,
            kind=OfferKind.TRANSFER,
            note=note,
            now=now,
            timeout=timeout,
        )
    )
    return changes


def check_may_offer(conv: Conversation, to: Agent) -> None:
    """Refuse, saying why, unless ``offer_to_agent`` may offer ``conv`` to ``to``."""
    if not conv.is_open:
        raise InvalidTransition("this conversation has ended")
    if to.id == conv.agent_id:
        raise InvalidTransition(f"{to.name} has this chat already")
    if to.id == conv.offered_to:
        raise InvalidTransition(f"the chat is offered to {to.name} already")
    if conv.member(to.id) is not None:
        raise InvalidTransition(f"{to.name} is in this chat already")
    if conv.state is ConversationState.ON_HOLD:
        raise InvalidTransition(
            "the chat is on hold: hand it to a queue, or wait until its agent takes it back"
        )
