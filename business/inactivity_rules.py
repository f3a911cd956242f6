"""Inactivity rules of a queue as pure functions (``business.inactivity`` runs them).

One deadline per conversation is stored on its row (``Conversation.idle_due_at``) with
the rule it is for (``idle_step``), so the rules outlive a restart. Whose turn it is
decides which rule runs:

- live chat, the agent wrote last: after ``visitor_idle_alert`` the visitor is asked
  whether they are still there (``VISITOR_ALERT``); ``visitor_idle_close`` later the
  chat ends for inactivity (``VISITOR_CLOSE``);
- live chat, the visitor wrote last and the agent has not answered: after
  ``agent_reply_reminder`` the agent is reminded (``AGENT_REMINDER``); with
  ``agent_reply_reroute`` the same time again later the chat goes back to the queue,
  not to that agent next (``AGENT_REROUTE``);
- messaging mode, any message: after ``messaging_idle`` with none the visit is over
  (``VISIT_END``): the thread leaves its agent (it goes on hold, so the visitor's next
  message goes to routing again, ``business.hold``) but stays open.

A message sets the deadline in the change it makes anyway, so the message path writes
it with the conversation's row and no extra statement. A deadline that no longer
applies when due (the chat ended, went on hold, was transferred) is dropped then.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from business.conversation import Change, ChangeBuilder, Conversation
from business.copying import replaced
from business.events import IdleNoticed, StateChanged
from business.model import (
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    Queue,
    QueueMode,
)

INACTIVITY = "inactivity"
"""``StateChanged.reason`` of a chat ended by ``VISITOR_CLOSE``."""
SYSTEM = Participant(kind=ParticipantKind.SYSTEM, name="System")


class IdleStep(StrEnum):
    VISITOR_ALERT = "visitor_alert"
    VISITOR_CLOSE = "visitor_close"
    AGENT_REMINDER = "agent_reminder"
    AGENT_REROUTE = "agent_reroute"
    VISIT_END = "visit_end"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdlePolicy:
    """A queue's inactivity settings, in seconds (0: the rule is off)."""

    visitor_alert: int = 0
    visitor_close: int = 0
    agent_reminder: int = 0
    agent_reroute: bool = False
    messaging: int = 0

    @classmethod
    def of(cls, queue: Queue) -> IdlePolicy:
        if queue.mode is QueueMode.MESSAGING:
            return cls(messaging=queue.messaging_idle)
        return cls(
            visitor_alert=queue.visitor_idle_alert,
            visitor_close=queue.visitor_idle_close,
            agent_reminder=queue.agent_reply_reminder,
            agent_reroute=queue.agent_reply_reroute,
        )

    @property
    def off(self) -> bool:
        return not (self.visitor_alert or self.agent_reminder or self.messaging)


OFF = IdlePolicy()


def _due(conv: Conversation, step: IdleStep | None, at: datetime | None) -> Conversation:
    return replaced(conv, idle_step=None if step is None else step.value, idle_due_at=at)


_AGENT_TURN = frozenset({"agent_reminder", "agent_reroute"})
"""``IdleStep`` values while the agent's clock runs (plain strings: the message path
compares them per message)."""


def after_message(change: Change, sender: ParticipantKind, policy: IdlePolicy) -> Change:
    """``change`` (a message stored in an open chat, sent by ``sender``) with the
    deadline the message sets. Unchanged when it sets none, so a queue without rules
    writes nothing more. Runs per message: kept to a few comparisons."""
    conv = change.conversation
    if change.before is None or not change.events:
        return change
    now = change.events[-1].created_at
    step: str | None = None
    seconds = 0
    if policy.messaging:
        step, seconds = "visit_end", policy.messaging
    elif conv.state is not ConversationState.ACTIVE:
        pass
    elif sender is ParticipantKind.VISITOR:
        if conv.idle_step in _AGENT_TURN:
            return change  # the agent's clock runs from the first unanswered message
        if policy.agent_reminder:
            step, seconds = "agent_reminder", policy.agent_reminder
    elif sender is ParticipantKind.AGENT:
        if policy.visitor_alert:
            step, seconds = "visitor_alert", policy.visitor_alert
    else:
        return change
    at = None if step is None else now + timedelta(seconds=seconds)
    if conv.idle_step == step and conv.idle_due_at == at:
        return change
    updated = replaced(conv, idle_step=step, idle_due_at=at)
    return Change(
        before=change.before,
        conversation=updated,
        events=change.events,
        member_writes=change.member_writes,
    )


def on_taken(change: Change, queue: Queue | None, now: datetime) -> Change:
    """``change`` (an agent took a waiting chat, writing nothing yet) with the agent's
    reply clock started: the visitor waits for their first word. In messaging mode the
    visit's clock starts instead: a thread nobody writes to leaves its agent too."""
    policy = OFF if queue is None else IdlePolicy.of(queue)
    conv = change.conversation
    if conv.state is not ConversationState.ACTIVE:
        return change
    if policy.messaging:
        step, seconds = IdleStep.VISIT_END, policy.messaging
    elif policy.agent_reminder:
        step, seconds = IdleStep.AGENT_REMINDER, policy.agent_reminder
    else:
        return change
    updated = _due(conv, step, now + timedelta(seconds=seconds))
    return dataclasses.replace(change, conversation=updated)


def on_transferred(change: Change, queue: Queue | None, now: datetime) -> Change:
    """``change`` (an agent took a chat transferred to them) with the agent's reply
    clock, if it ran, started again for them: the reminder and the re-route were about
    the previous agent's silence."""
    conv = change.conversation
    if conv.idle_step not in _AGENT_TURN:
        return change
    policy = OFF if queue is None else IdlePolicy.of(queue)
    if not policy.agent_reminder or conv.state is not ConversationState.ACTIVE:
        updated = _due(conv, None, None)
    else:
        due = now + timedelta(seconds=policy.agent_reminder)
        updated = _due(conv, IdleStep.AGENT_REMINDER, due)
    return dataclasses.replace(change, conversation=updated)


def applies(conv: Conversation, now: datetime) -> IdleStep | None:
    """The rule due now in ``conv``, or None (nothing due, or it no longer applies)."""
    if conv.idle_due_at is None or conv.idle_step is None or conv.idle_due_at > now:
        return None
    step = IdleStep(conv.idle_step)
    if step is IdleStep.VISIT_END:
        return step if conv.state is ConversationState.ACTIVE else None
    return step if conv.state is ConversationState.ACTIVE else None


def clear(conv: Conversation) -> Change:
    """Drop a deadline that no longer applies (no event)."""
    return Change(before=conv, conversation=_due(conv, None, None))


def alert_visitor(
    conv: Conversation, *, id: EventId, text: str, now: datetime, policy: IdlePolicy
) -> Change:
    """Ask the silent visitor whether they are still there (a system message); the
    close is due ``visitor_close`` later (none when that is 0)."""
    builder = ChangeBuilder(conv)
    builder.message(id=id, sender=SYSTEM, text=text, client_msg_id=None, at=now)
    if policy.visitor_close:
        close = now + timedelta(seconds=policy.visitor_close)
        builder.update(idle_step=IdleStep.VISITOR_CLOSE.value, idle_due_at=close)
    else:
        builder.update(idle_step=None, idle_due_at=None)
    return builder.done()


def close_for_inactivity(conv: Conversation, *, id: EventId, text: str, now: datetime) -> Change:
    """End the chat: a system message, then the end by the system with reason
    ``inactivity`` (the visitor and the agent see both)."""
    builder = ChangeBuilder(conv)
    builder.message(id=id, sender=SYSTEM, text=text, client_msg_id=None, at=now)
    builder.update(idle_step=None, idle_due_at=None)
    said = builder.done()
    ended = said.conversation.end(SYSTEM, now)
    events = tuple(
        dataclasses.replace(e, reason=INACTIVITY) if isinstance(e, StateChanged) else e
        for e in ended.events
    )
    return Change(
        before=conv,
        conversation=ended.conversation,
        events=said.events + events,
        member_writes=ended.member_writes,
    )


def remind_agent(conv: Conversation, *, now: datetime, policy: IdlePolicy) -> Change:
    """Remind the agent of the visitor's unanswered message (hidden ``idle.noticed``);
    with ``agent_reroute`` the re-route is due the same time again later."""
    builder = ChangeBuilder(conv)
    _notice(builder, conv, "reply_reminder", policy.agent_reminder, now)
    if policy.agent_reroute and policy.agent_reminder:
        due = now + timedelta(seconds=policy.agent_reminder)
        builder.update(idle_step=IdleStep.AGENT_REROUTE.value, idle_due_at=due)
    else:
        builder.update(idle_step=None, idle_due_at=None)
    return builder.done()


def reroute(conv: Conversation, *, now: datetime, position: int, waited: int) -> Change:
    """Back to the queue at ``position``: the agent is told, leaves, and is not offered
    it next (``last_offered_to``)."""
    builder = ChangeBuilder(conv)
    _notice(builder, conv, "rerouted", waited, now)
    builder.left(conv.agent, "owner", now)
    builder.transition(ConversationState.QUEUED, now)
    builder.update(
        agent_id=None,
        agent_name=None,
        last_offered_to=conv.agent_id,
        preferred_agent_id=None,
        queue_position=position,
        idle_step=None,
        idle_due_at=None,
    )
    builder.state_changed(now)
    return builder.done()


def end_visit(conv: Conversation, *, now: datetime, policy: IdlePolicy) -> Change:
    """Messaging: the visit is over. The thread goes on hold with its agent (their
    place is free; ``business.hold`` brings it back to them if they can take it when
    the visitor writes, else to the queue)."""
    builder = ChangeBuilder(conv)
    _notice(builder, conv, "visit_ended", policy.messaging, now)
    builder.transition(ConversationState.ON_HOLD, now)
    builder.update(idle_step=None, idle_due_at=None)
    builder.state_changed(now)
    return builder.done()


def _notice(
    builder: ChangeBuilder, conv: Conversation, kind: str, seconds: int, now: datetime
) -> None:
    agent = conv.agent
    minutes = max(1, round(seconds / 60))
    builder.add_hidden(
        lambda pos: IdleNoticed(
            conversation_id=conv.id,
            pos=pos,
            created_at=now,
            agent=agent,
            kind=kind,
            minutes=minutes,
        )
    )
