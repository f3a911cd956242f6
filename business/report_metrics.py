"""A conversation's metrics, read off its stored events once it has ended: the row of the
conversation reports (``business.reports``), and what a webhook about the end will carry.

``conversation_metrics`` is a pure function of the conversation and its events, so the
same events always give the same report, whenever it is computed (at the end, again when
a wrap-up comes later, or by a backfill).

How each figure is read:

- ``assigned_at``: the first ``participant.joined`` of an agent as owner (a routed offer
  taken, or a transfer's new owner; an invited agent or a supervisor barging in is not
  an assignment). ``wait_seconds`` runs from the start to it.
- ``first_response_seconds``: from ``assigned_at`` to the first message an agent wrote to
  the visitor (any agent the visitor sees: owner, invited, supervisor). A consultant's
  desk messages and whispers are not answers.
- ``handle_seconds``: from ``assigned_at`` to the end, including any time the chat spent
  on hold or back in a queue after a transfer.
- ``messages_visitor`` / ``messages_agent``: messages the visitor wrote / agents wrote
  to the visitor (corrections are not new messages).
- ``transfers``: every hand-over, to an agent or back to a queue.
- ``agent_id``/``agent_name``: the last owner (after transfers: the one who had it last).
- ``wrap_up``: the last wrap-up code recorded, at the end or after it.
- ``ended_by``: who ended it (the visitor, an agent; None when the events do not say,
  e.g. a future inactivity timeout of a chat nobody took).
- ``outcome``: see ``ConversationOutcome``.
- ``bot_handled``: a bot took part: it wrote at least one message to the visitor (the
  queue's rules bot, or an integrator posting as a bot). A chat of a bot-first queue
  that the bot handed over is bot-handled too, whatever came after; ``wait_seconds``
  then includes the time with the bot, as it runs from the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum

from business.conversation import Conversation
from business.events import (
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
    Transferred,
    WrapUpRecorded,
)
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorId,
)

OWNER = "owner"


class ConversationOutcome(StrEnum):
    """How a conversation ended, from the visitor's point of view.

    Decided from two facts and who ended it: did an agent ever take the chat, and did an
    agent ever write to the visitor; for a chat no agent took, also whether it was still
    with the bot at the end. A chat answered once stays ``answered`` whatever happens
    after (a transfer back to a queue where the visitor then gives up, or back to the
    bot with ``!bot``).
    """

    ANSWERED = "answered"
    """An agent took it and wrote to the visitor."""
    BOT_RESOLVED = "bot_resolved"
    """It ended while with the bot, no agent having ever taken it, whoever ended it (the
    visitor leaving satisfied, an integrator closing it): the bot was all it took. A chat
    the bot handed over and the visitor then left in the queue is ``abandoned_in_queue``
    instead; the two never overlap, and together they are every chat of a bot-first
    queue that no agent took and the visitor ended."""
    VISITOR_LEFT = "visitor_left"
    """An agent took it, but the visitor ended it before any agent wrote."""
    CLOSED_UNANSWERED = "closed_unanswered"
    """An agent took it and ended it without writing (spam, a duplicate chat)."""
    ABANDONED_IN_QUEUE = "abandoned_in_queue"
    """The visitor ended it while it waited in a queue, before any agent took it (after
    the bot's hand-over, in a bot-first queue)."""
    CLOSED_IN_QUEUE = "closed_in_queue"
    """Ended by someone other than the visitor while it waited in a queue, before any
    agent took it (an integrator; later the engine closing idle chats)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationMetrics:
    """One ended conversation's report row; durations in seconds, to the millisecond."""

    conversation_id: ConversationId
    tenant_id: TenantId
    queue: QueueName
    """The queue it ended in (after a transfer to another queue: that one)."""
    visitor_id: VisitorId
    agent_id: AgentId | None
    agent_name: str | None
    created_at: datetime
    assigned_at: datetime | None
    ended_at: datetime
    ended_by: ParticipantKind | None
    wait_seconds: float | None
    first_response_seconds: float | None
    handle_seconds: float | None
    messages_visitor: int
    messages_agent: int
    transfers: int
    bot_handled: bool = False
    """Whether a bot wrote to the visitor in it."""
    wrap_up: str | None
    outcome: ConversationOutcome
    channel: Channel = Channel.WEB
    """Where the visitor wrote from (last, so that CSV columns read before it kept
    their place)."""


REPORT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ConversationMetrics))
"""The fields in the order records and CSV columns list them."""

RecordValue = str | int | float | bool | None


def metrics_record(metrics: ConversationMetrics) -> dict[str, RecordValue]:
    """``metrics`` as plain values (ISO 8601 times, enum values), in ``REPORT_FIELDS``
    order: for JSON, CSV and webhook payloads alike."""
    record: dict[str, RecordValue] = {}
    for name in REPORT_FIELDS:
        value = getattr(metrics, name)
        if isinstance(value, datetime):
            record[name] = value.isoformat()
        elif isinstance(value, StrEnum):
            record[name] = value.value
        else:
            record[name] = value
    return record


def conversation_metrics(
    conversation: Conversation, events: Iterable[StoredEvent]
) -> ConversationMetrics:
    """The metrics of ``conversation`` from all its stored events (any order); a
    conversation whose events hold no end is a ``ValueError``."""
    assigned_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: ParticipantKind | None = None
    owner: tuple[AgentId | None, str | None] = (None, None)
    messages_visitor = messages_agent = transfers = 0
    bot_handled = ended_with_bot = False
    wrap_up: str | None = None
    previous: StoredEvent | None = None
    state: ConversationState | None = None
    for event in sorted(events, key=lambda e: e.pos):
        match event:
            case ParticipantJoined(participant=who, role=role) if (
                who.kind is ParticipantKind.AGENT and role == OWNER
            ):
                assigned_at = assigned_at or event.created_at
                owner = (None if who.id is None else AgentId(who.id), who.name)
            case MessagePosted(sender=sender) if sender.kind is ParticipantKind.VISITOR:
                messages_visitor += 1
            case MessagePosted(sender=sender) if sender.kind is ParticipantKind.AGENT:
                messages_agent += 1
                if assigned_at is not None and answered_at is None:
                    answered_at = event.created_at
            case MessagePosted(sender=sender) if sender.kind is ParticipantKind.BOT:
                bot_handled = True
            case Transferred():
                transfers += 1
            case WrapUpRecorded(code=code) if code is not None:
                wrap_up = code
            case StateChanged(state=ConversationState.ENDED):
                ended_at = event.created_at
                ended_by = _who_ended(previous, event)
                ended_with_bot = state is ConversationState.BOT
            case StateChanged(state=now):
                state = now
            case _:
                pass
        previous = event
    if ended_at is None:
        raise ValueError(f"conversation {conversation.id} has not ended")
    return ConversationMetrics(
        conversation_id=conversation.id,
        tenant_id=conversation.tenant_id,
        queue=conversation.queue,
        visitor_id=conversation.visitor_id,
        agent_id=owner[0],
        agent_name=owner[1],
        created_at=conversation.created_at,
        assigned_at=assigned_at,
        ended_at=ended_at,
        ended_by=ended_by,
        wait_seconds=_seconds(conversation.created_at, assigned_at),
        first_response_seconds=_seconds(assigned_at, answered_at),
        handle_seconds=_seconds(assigned_at, ended_at),
        messages_visitor=messages_visitor,
        messages_agent=messages_agent,
        transfers=transfers,
        bot_handled=bot_handled,
        wrap_up=wrap_up,
        outcome=_outcome(assigned_at, answered_at, ended_by, ended_with_bot=ended_with_bot),
        channel=conversation.channel,
    )


def _who_ended(previous: StoredEvent | None, end: StateChanged) -> ParticipantKind | None:
    if end.by is not None:
        return end.by.kind
    # An end stored before ``by`` was: ``Conversation.end`` put the leave of whoever
    # ended it right before the ``state.changed`` (ended), at the same instant.
    if (
        isinstance(previous, ParticipantLeft)
        and previous.pos == end.pos - 1
        and previous.created_at == end.created_at
    ):
        return previous.participant.kind
    return None


def _outcome(
    assigned_at: datetime | None,
    answered_at: datetime | None,
    ended_by: ParticipantKind | None,
    *,
    ended_with_bot: bool,
) -> ConversationOutcome:
    by_visitor = ended_by is ParticipantKind.VISITOR
    if assigned_at is None and ended_with_bot:
        return ConversationOutcome.BOT_RESOLVED
    if assigned_at is None:
        return (
            ConversationOutcome.ABANDONED_IN_QUEUE
            if by_visitor
            else ConversationOutcome.CLOSED_IN_QUEUE
        )
    if answered_at is not None:
        return ConversationOutcome.ANSWERED
    return ConversationOutcome.VISITOR_LEFT if by_visitor else ConversationOutcome.CLOSED_UNANSWERED


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)
