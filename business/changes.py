"""Changes of the conversation aggregate: ``Change`` (what one change did) and
``ChangeBuilder`` (how the aggregate's methods and the rule modules make one).

A change holds the conversation before and after, the events it produced (each with the
next ``pos`` and, if the visitor sees it, the next ``seq``) and the writes it makes to
the conversation's members (``business.member_ports``). ``business.conversation``
re-exports both names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from business.bot_model import QuickReply
from business.copying import field_names, replaced
from business.errors import InvalidInput, InvalidTransition
from business.events import (
    ConversationEvent,
    DeskEvent,
    DeskMessage,
    MemberLeft,
    MessagePosted,
    OfferClosed,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
)
from business.member_ports import MemberLeave, MemberWrite
from business.model import (
    ConversationState,
    EventId,
    Member,
    MemberRole,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.rich import Rich, RichReply

if TYPE_CHECKING:
    from business.conversation import Conversation

_E = TypeVar("_E", bound=ConversationEvent)
_D = TypeVar("_D", bound=DeskEvent)

TRANSITIONS: Mapping[ConversationState, frozenset[ConversationState]] = {
    ConversationState.BOT: frozenset({ConversationState.QUEUED, ConversationState.ENDED}),
    ConversationState.QUEUED: frozenset({ConversationState.ACTIVE, ConversationState.ENDED}),
    ConversationState.ACTIVE: frozenset(
        {
            ConversationState.ON_HOLD,
            ConversationState.QUEUED,
            ConversationState.BOT,
            ConversationState.ENDED,
        }
    ),
    ConversationState.ON_HOLD: frozenset(
        {ConversationState.ACTIVE, ConversationState.QUEUED, ConversationState.ENDED}
    ),
    ConversationState.ENDED: frozenset(),
}
"""Active -> queued: transferred to a queue (``business.member_rules``); on hold ->
queued: the visitor wrote and the agent cannot take it back (``business.hold``); bot ->
queued: the bot hands over, active -> bot: the agent sends the visitor back to it
(``business.bot_rules``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """What one aggregate method did: the conversation before (None if new) and after,
    the events it produced, in pos order, and the writes to its members' rows."""

    before: Conversation | None
    conversation: Conversation
    events: tuple[ConversationEvent | DeskEvent, ...] = ()
    member_writes: tuple[MemberWrite, ...] = ()

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

    @property
    def moved_queue(self) -> bool:
        """Whether a waiting conversation went from one queue to another: it leaves the
        one and enters the other."""
        queued = ConversationState.QUEUED
        before = self.before
        return (
            before is not None
            and before.state is queued
            and self.conversation.state is queued
            and before.queue != self.conversation.queue
        )


class ChangeBuilder:
    """Accumulates one change: new field values, events (each taking the next pos, and
    the next seq if the visitor sees it) and member writes."""

    def __init__(self, conversation: Conversation, *, created: bool = False) -> None:
        self._before = None if created else conversation
        self._made = conversation
        # New field values not in ``_made`` yet: copying the conversation (some forty
        # fields) at every event and update was a hot spot, so the copy is made once,
        # when the conversation is next read (``_conv``).
        self._changes: dict[str, object] = {}
        self._events: list[ConversationEvent | DeskEvent] = []
        self._member_writes: list[MemberWrite] = []

    @property
    def _conv(self) -> Conversation:
        if self._changes:
            self._made = replaced(self._made, **self._changes)
            self._changes = {}
        return self._made

    def _next(self, field: str) -> int:
        """``last_seq`` or ``last_pos`` plus one, without making the copy."""
        current = self._changes.get(field, getattr(self._made, field))
        assert isinstance(current, int)
        return current + 1

    def update(self, **changes: object) -> None:
        if unknown := changes.keys() - field_names(type(self._made)):
            # Here, where the mistake is, not at the copy made later.
            raise TypeError(f"a conversation has no field {', '.join(sorted(unknown))}")
        self._changes.update(changes)

    def transition(self, to: ConversationState, at: datetime) -> None:
        if to not in TRANSITIONS[self._conv.state]:
            if not self._conv.is_open:
                raise InvalidTransition("this conversation has ended")
            raise InvalidTransition(f"conversation is {self._conv.state}, cannot become {to}")
        changes: dict[str, object] = {"state": to}
        if to is not ConversationState.QUEUED:
            changes["queue_position"] = None
            changes["reserved_until"] = None
        if to is ConversationState.ENDED:
            changes["ended_at"] = at
        self.update(**changes)

    def add(self, make: Callable[[int, int], _E]) -> _E:
        """An event the visitor sees: ``make(seq, pos)``."""
        seq = self._next("last_seq")
        pos = self._next("last_pos")
        event = make(seq, pos)
        self._changes["last_seq"] = seq
        self._changes["last_pos"] = pos
        self._events.append(event)
        return event

    def state_changed(
        self, at: datetime, *, by: Participant | None = None, locked: bool | None = None
    ) -> StateChanged:
        """Tell the visitor the state the change has brought the conversation to
        (``state.changed``), with its place in the queue when it waits in one; ``by``:
        who ended it (``StateChanged.by``)."""
        conv = self._conv
        position = conv.queue_position if conv.state is ConversationState.QUEUED else None
        return self.add(
            lambda seq, pos: StateChanged(
                conversation_id=conv.id,
                seq=seq,
                pos=pos,
                created_at=at,
                state=conv.state,
                queue_position=position,
                by=by,
                locked=locked,
            )
        )

    def add_hidden(self, make: Callable[[int], _D]) -> _D:
        """An event only the agent desk sees: ``make(pos)``; it takes no seq."""
        pos = self._next("last_pos")
        event = make(pos)
        self._changes["last_pos"] = pos
        self._events.append(event)
        return event

    def message(
        self,
        *,
        id: EventId,
        sender: Participant,
        text: str,
        client_msg_id: str | None,
        at: datetime,
        attachments: tuple[str, ...] = (),
        quick_replies: tuple[QuickReply, ...] = (),
        rich: Rich | None = None,
        reply_to: RichReply | None = None,
    ) -> MessagePosted:
        """A message the visitor sees (``message``). Every message of the aggregate is
        built here, whoever sends it (the visitor, an agent, the rules bot, an
        integrator as a bot or the system), so this is where what a bot's message may be
        is decided: only a bot offers ``quick_replies`` (buttons that send their label
        as the visitor's message), and none of them may be refused for it elsewhere."""
        if quick_replies and sender.kind is not ParticipantKind.BOT:
            raise InvalidInput("only a bot's message offers quick replies")
        if rich is not None and sender.kind is ParticipantKind.VISITOR:
            raise InvalidInput("a visitor's message has no rich content")
        if reply_to is not None and sender.kind is not ParticipantKind.VISITOR:
            raise InvalidInput("only the visitor answers a rich message")
        cid = self._made.id  # never changes
        return self.add(
            lambda seq, pos: MessagePosted(
                conversation_id=cid,
                seq=seq,
                pos=pos,
                created_at=at,
                id=id,
                sender=sender,
                text=text,
                client_msg_id=client_msg_id,
                attachments=attachments,
                quick_replies=quick_replies,
                rich=rich,
                reply_to=reply_to,
            )
        )

    def desk_message(
        self,
        *,
        id: EventId,
        sender: Participant,
        text: str,
        client_msg_id: str | None,
        at: datetime,
        attachments: tuple[str, ...] = (),
    ) -> DeskMessage:
        """A message only the agents see (``desk.message``: a consultant's), with its
        files kept apart from the text, as a message's."""
        cid = self._made.id  # never changes
        return self.add_hidden(
            lambda pos: DeskMessage(
                conversation_id=cid,
                pos=pos,
                created_at=at,
                id=id,
                sender=sender,
                text=text,
                client_msg_id=client_msg_id,
                attachments=attachments,
            )
        )

    def joined(self, participant: Participant, role: str | None, at: datetime) -> ParticipantJoined:
        """``participant`` joins, visibly to the visitor (``participant.joined``)."""
        cid = self._made.id  # never changes
        return self.add(
            lambda seq, pos: ParticipantJoined(
                conversation_id=cid,
                seq=seq,
                pos=pos,
                created_at=at,
                participant=participant,
                role=role,
            )
        )

    def left(self, participant: Participant, role: str | None, at: datetime) -> None:
        """``participant`` leaves, visibly to the visitor (``participant.left``)."""
        cid = self._made.id  # never changes
        self.add(
            lambda seq, pos: ParticipantLeft(
                conversation_id=cid,
                seq=seq,
                pos=pos,
                created_at=at,
                participant=participant,
                role=role,
            )
        )

    def write_member(self, write: MemberWrite) -> None:
        self._member_writes.append(write)

    def set_members(self, members: tuple[Member, ...]) -> None:
        self.update(members=members)

    def remove_member(self, agent_id: str, at: datetime, *, announce: bool = True) -> None:
        """``agent_id`` leaves the members (hidden ``member.left`` unless not
        ``announce``); delivered up to that event."""
        conv = self._conv
        member = conv.member(agent_id)
        if member is None:
            return
        if announce:
            self.add_hidden(
                lambda pos: MemberLeft(
                    conversation_id=conv.id,
                    pos=pos,
                    created_at=at,
                    agent=member.as_participant(),
                    role=member.role,
                )
            )
        self.update(members=tuple(m for m in self._conv.members if m.agent_id != agent_id))
        self.write_member(MemberLeave(agent_id=member.agent_id, left_pos=self._conv.last_pos))

    def close_offer(self, outcome: OfferOutcome, at: datetime) -> None:
        """Close the open offer, if any: the offered agent learns how it ended (hidden
        ``offer.closed``). A routed chat not accepted is not offered to them again next;
        somebody offered a transfer, invitation or consult who did not take it leaves."""
        conv = self._conv
        if conv.offered_to is None:
            return
        agent = Participant(
            kind=ParticipantKind.AGENT, name=conv.offered_name or "Agent", id=conv.offered_to
        )
        kind = conv.offer_kind
        self.add_hidden(
            lambda pos: OfferClosed(
                conversation_id=conv.id,
                pos=pos,
                created_at=at,
                agent=agent,
                outcome=outcome,
                kind=kind,
            )
        )
        routed = kind is OfferKind.ROUTE
        self.update(
            offered_to=None,
            offered_name=None,
            offer_expires_at=None,
            offer_kind=OfferKind.ROUTE,
            offer_by=None,
            offer_note=None,
            last_offered_to=(
                conv.last_offered_to
                if not routed
                else None
                if outcome is OfferOutcome.ACCEPTED
                else conv.offered_to
            ),
        )
        member = conv.member(conv.offered_to)
        offered = member is not None and member.role is MemberRole.OFFERED
        if offered and outcome is not OfferOutcome.ACCEPTED:
            self.remove_member(conv.offered_to, at, announce=False)

    @property
    def conversation(self) -> Conversation:
        """The conversation as the change has made it so far."""
        return self._conv

    def done(self) -> Change:
        return Change(
            before=self._before,
            conversation=self._conv,
            events=tuple(self._events),
            member_writes=tuple(self._member_writes),
        )
