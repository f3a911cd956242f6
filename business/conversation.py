"""The conversation aggregate: its state, its rules, and the events its changes produce.

Every change is a method that returns a ``Change``: the conversation as it is afterwards
and the events it produced, each with the next ``pos`` and, if the visitor may see it,
the next ``seq``. Nothing else allocates either, so "``pos`` runs 1..``last_pos`` and
``seq`` 1..``last_seq`` without gaps" holds by construction, as long as each change
starts from the stored conversation read in the same unit of work (``for_update``).
The unit of work stores a ``Change`` and publishes its events after commit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from business.errors import InvalidInput, InvalidTransition
from business.events import (
    ConversationEvent,
    DeskEvent,
    MessagePosted,
    NoteAdded,
    OfferClosed,
    OfferOutcome,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
    WrapUpRecorded,
)
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)

_E = TypeVar("_E", bound=ConversationEvent)
_D = TypeVar("_D", bound=DeskEvent)

_TRANSITIONS: Mapping[ConversationState, frozenset[ConversationState]] = {
    ConversationState.QUEUED: frozenset({ConversationState.ACTIVE, ConversationState.ENDED}),
    ConversationState.ACTIVE: frozenset({ConversationState.ENDED}),
    ConversationState.ENDED: frozenset(),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """One chat between a visitor and (eventually) an agent.

    Invariants: ``last_pos`` is the pos of the newest stored event and every pos from 1
    to ``last_pos`` exists exactly once; likewise ``last_seq`` and the seqs of the events
    the visitor sees; ``agent_id`` is set whenever ``state`` is ``active``;
    ``agent_delivered_pos <= last_pos``; ``queue_position`` is set only while queued.
    """

    id: ConversationId
    tenant_id: TenantId
    visitor_id: VisitorId
    visitor_name: str
    queue: QueueName
    state: ConversationState
    created_at: datetime
    context: VisitorContext = field(default_factory=VisitorContext)
    form: Mapping[str, str] = field(default_factory=dict)
    agent_id: AgentId | None = None
    agent_name: str | None = None
    last_seq: int = 0
    last_pos: int = 0
    visitor_read_seq: int = 0
    agent_delivered_pos: int = 0
    """The newest pos the agent desk has confirmed handing to the agent."""
    queue_position: int | None = None
    """The position the visitor was last told (see ``Limits.queue_position_window``)."""
    offered_to: AgentId | None = None
    """While queued: the agent the chat is offered to (``business.offer_rules``)."""
    offered_name: str | None = None
    offer_expires_at: datetime | None = None
    last_offered_to: AgentId | None = None
    """Who was offered it last and did not take it: not offered it again next."""
    preferred_agent_id: AgentId | None = None
    """Offered first to this agent when they can take it (the visitor's last agent)."""
    assigned_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.state is not ConversationState.ENDED

    @property
    def desk_agent_id(self) -> AgentId | None:
        """Whom the agent desk delivers this chat to: its agent, or the agent it is offered
        to (the offer, then what the visitor adds while it is open)."""
        return self.agent_id if self.agent_id is not None else self.offered_to

    @property
    def visitor(self) -> Participant:
        return Participant(kind=ParticipantKind.VISITOR, name=self.visitor_name, id=self.visitor_id)

    @property
    def agent(self) -> Participant:
        return Participant(
            kind=ParticipantKind.AGENT, name=self.agent_name or "Agent", id=self.agent_id
        )

    # -- changes ----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        id: ConversationId,
        tenant_id: TenantId,
        visitor_id: VisitorId,
        visitor_name: str,
        queue: QueueName,
        position: int,
        now: datetime,
        context: VisitorContext,
        form: Mapping[str, str],
        first_message: tuple[EventId, str, str] | None = None,
    ) -> Change:
        """A new queued conversation; ``first_message`` is (id, client_msg_id, text)."""
        conv = cls(
            id=id,
            tenant_id=tenant_id,
            visitor_id=visitor_id,
            visitor_name=visitor_name,
            queue=queue,
            state=ConversationState.QUEUED,
            created_at=now,
            context=context,
            form=dict(form),
        )
        builder = ChangeBuilder(conv, created=True)
        builder.update(queue_position=position)
        builder.add(
            lambda seq, pos: StateChanged(
                conversation_id=id,
                seq=seq,
                pos=pos,
                created_at=now,
                state=ConversationState.QUEUED,
                queue_position=position,
            )
        )
        if first_message is not None:
            event_id, client_msg_id, text = first_message
            builder.add(
                lambda seq, pos: MessagePosted(
                    conversation_id=id,
                    seq=seq,
                    pos=pos,
                    created_at=now,
                    id=event_id,
                    sender=conv.visitor,
                    text=text,
                    client_msg_id=client_msg_id,
                )
            )
        return builder.done()

    def post(
        self,
        *,
        id: EventId,
        sender: Participant,
        text: str,
        client_msg_id: str | None,
        now: datetime,
        attachments: tuple[str, ...] = (),
    ) -> Change:
        """A message in an open conversation.

        A message from the conversation's agent moves the agent delivery cursor along
        when everything before it was delivered: the agent has it, it came from them.
        """
        if not self.is_open:
            raise InvalidTransition("this conversation has ended")
        builder = ChangeBuilder(self)
        message = builder.add(
            lambda seq, pos: MessagePosted(
                conversation_id=self.id,
                seq=seq,
                pos=pos,
                created_at=now,
                id=id,
                sender=sender,
                text=text,
                client_msg_id=client_msg_id,
                attachments=attachments,
            )
        )
        from_own_agent = sender.kind is ParticipantKind.AGENT and sender.id == self.agent_id
        if from_own_agent and self.agent_delivered_pos == self.last_pos:
            builder.update(agent_delivered_pos=message.pos)
        return builder.done()

    def add_note(self, *, id: EventId, by: Participant, text: str, now: datetime) -> Change:
        """An internal note in an open conversation: agents see it, the visitor never
        (it takes no ``seq``)."""
        if not self.is_open:
            raise InvalidTransition("this conversation has ended")
        builder = ChangeBuilder(self)
        builder.add_hidden(
            lambda pos: NoteAdded(
                conversation_id=self.id, pos=pos, created_at=now, id=id, by=by, text=text
            )
        )
        return builder.done()

    def reposition(self, position: int, now: datetime) -> Change | None:
        """Tell a waiting visitor their new place in the queue; None if unchanged."""
        if self.state is not ConversationState.QUEUED or self.queue_position == position:
            return None
        builder = ChangeBuilder(self)
        builder.update(queue_position=position)
        builder.add(
            lambda seq, pos: StateChanged(
                conversation_id=self.id,
                seq=seq,
                pos=pos,
                created_at=now,
                state=ConversationState.QUEUED,
                queue_position=position,
            )
        )
        return builder.done()

    def end(
        self,
        by: Participant,
        now: datetime,
        *,
        wrap_up: tuple[str | None, str | None] = (None, None),
    ) -> Change:
        """End an open conversation; ``wrap_up`` is (code, note), either may be None.

        The visitor always leaves visibly; an agent only if they had joined (a queued
        conversation has no agent to leave). A wrap-up comes first, for the agent desk.
        """
        builder = ChangeBuilder(self)
        code, note = wrap_up
        if code is not None or note is not None:
            builder.add_hidden(
                lambda pos: WrapUpRecorded(
                    conversation_id=self.id, pos=pos, created_at=now, by=by, code=code, note=note
                )
            )
        builder.close_offer(OfferOutcome.WITHDRAWN, now)
        builder.transition(ConversationState.ENDED, now)
        if self.state is ConversationState.ACTIVE or by.kind is ParticipantKind.VISITOR:
            builder.add(
                lambda seq, pos: ParticipantLeft(
                    conversation_id=self.id, seq=seq, pos=pos, created_at=now, participant=by
                )
            )
        builder.add(
            lambda seq, pos: StateChanged(
                conversation_id=self.id,
                seq=seq,
                pos=pos,
                created_at=now,
                state=ConversationState.ENDED,
            )
        )
        return builder.done()

    def mark_read_by_visitor(self, seq: int) -> Change | None:
        """The visitor has seen everything up to ``seq``; None when that is not news."""
        if seq < 0 or seq > self.last_seq:
            raise InvalidInput(f"seq must be between 0 and {self.last_seq}")
        if seq <= self.visitor_read_seq:
            return None
        return Change(before=self, conversation=dataclasses.replace(self, visitor_read_seq=seq))

    def mark_delivered_to_agent(self, pos: int) -> Change | None:
        """The agent desk confirmed delivery up to ``pos`` (never past ``last_pos``)."""
        pos = min(pos, self.last_pos)
        if pos <= self.agent_delivered_pos:
            return None
        return Change(before=self, conversation=dataclasses.replace(self, agent_delivered_pos=pos))

    def with_context(self, context: VisitorContext) -> Change:
        merged = self.context.merged(context)
        return Change(before=self, conversation=dataclasses.replace(self, context=merged))


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """What one aggregate method did: the conversation before (None if new) and after,
    and the events it produced, in seq order."""

    before: Conversation | None
    conversation: Conversation
    events: tuple[StoredEvent, ...] = ()

    @property
    def entered_queue(self) -> bool:
        queued = ConversationState.QUEUED
        was = self.before is not None and self.before.state is queued
        return self.conversation.state is queued and not was

    @property
    def left_queue(self) -> bool:
        queued = ConversationState.QUEUED
        was = self.before is not None and self.before.state is queued
        return was and self.conversation.state is not queued


class ChangeBuilder:
    """Accumulates one change: new field values and events, each event taking the next seq."""

    def __init__(self, conversation: Conversation, *, created: bool = False) -> None:
        self._before = None if created else conversation
        self._conv = conversation
        self._events: list[StoredEvent] = []

    def update(self, **changes: object) -> None:
        self._conv = dataclasses.replace(self._conv, **changes)  # type: ignore[arg-type]

    def transition(self, to: ConversationState, at: datetime) -> None:
        if to not in _TRANSITIONS[self._conv.state]:
            if not self._conv.is_open:
                raise InvalidTransition("this conversation has ended")
            raise InvalidTransition(f"conversation is {self._conv.state}, cannot become {to}")
        changes: dict[str, object] = {"state": to}
        if to is not ConversationState.QUEUED:
            changes["queue_position"] = None
        if to is ConversationState.ENDED:
            changes["ended_at"] = at
        self.update(**changes)

    def add(self, make: Callable[[int, int], _E]) -> _E:
        """An event the visitor sees: ``make(seq, pos)``."""
        seq = self._conv.last_seq + 1
        pos = self._conv.last_pos + 1
        event = make(seq, pos)
        self._conv = dataclasses.replace(self._conv, last_seq=seq, last_pos=pos)
        self._events.append(event)
        return event

    def add_hidden(self, make: Callable[[int], _D]) -> _D:
        """An event only the agent desk sees: ``make(pos)``; it takes no seq."""
        pos = self._conv.last_pos + 1
        event = make(pos)
        self._conv = dataclasses.replace(self._conv, last_pos=pos)
        self._events.append(event)
        return event

    def close_offer(self, outcome: OfferOutcome, at: datetime) -> None:
        """Close the open offer, if any: the offered agent learns how it ended (hidden
        ``offer.closed``). Not accepted: they are not offered the chat again next."""
        conv = self._conv
        if conv.offered_to is None:
            return
        agent = Participant(
            kind=ParticipantKind.AGENT, name=conv.offered_name or "Agent", id=conv.offered_to
        )
        self.add_hidden(
            lambda pos: OfferClosed(
                conversation_id=conv.id, pos=pos, created_at=at, agent=agent, outcome=outcome
            )
        )
        self.update(
            offered_to=None,
            offered_name=None,
            offer_expires_at=None,
            last_offered_to=None if outcome is OfferOutcome.ACCEPTED else conv.offered_to,
        )

    @property
    def conversation(self) -> Conversation:
        """The conversation as the change has made it so far."""
        return self._conv

    def done(self) -> Change:
        return Change(before=self._before, conversation=self._conv, events=tuple(self._events))
