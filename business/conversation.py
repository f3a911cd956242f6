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
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from business.bot_model import QuickReply
from business.changes import Change, ChangeBuilder
from business.copying import replaced
from business.errors import InvalidInput, InvalidTransition
from business.events import (
    NoteAdded,
    OfferOutcome,
    ParticipantLeft,
    WrapUpRecorded,
)
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    EventId,
    Member,
    OfferKind,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from business.rich import Rich, RichReply
from business.visit import StartedBy

__all__ = ["Change", "ChangeBuilder", "Conversation"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """One chat between a visitor and (eventually) an agent.

    Invariants: ``last_pos`` is the pos of the newest stored event and every pos from 1
    to ``last_pos`` exists exactly once; likewise ``last_seq`` and the seqs of the events
    the visitor sees; ``agent_id`` is set whenever ``state`` is ``active`` or ``on_hold``;
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
    offer_kind: OfferKind = OfferKind.ROUTE
    """What the open offer is: a routed chat, or a transfer, invitation or consult."""
    offer_by: AgentId | None = None
    """Who made the open offer (None: the router)."""
    offer_note: str | None = None
    members: tuple[Member, ...] = ()
    """The agents in it besides ``agent_id``, in the order they joined
    (``business.participants``)."""
    last_offered_to: AgentId | None = None
    """Who was offered it last and did not take it: not offered it again next."""
    preferred_agent_id: AgentId | None = None
    """Offered first to this agent when they can take it (the visitor's last agent)."""
    assigned_at: datetime | None = None
    ended_at: datetime | None = None
    bot_misses: int = 0
    """While with the bot: how many messages in a row it could not answer."""
    channel: Channel = Channel.WEB
    """Fixed at the start, like ``provider`` and ``external_id``."""
    provider: str | None = None
    """``api`` only: the integrator's label of the messaging service (``sms``, ...)."""
    external_id: str | None = None
    """``api`` only: the visitor's address on that service (a phone number, ...)."""
    offline: bool = False
    """Left as an offline message (``business.offline_messages``): the visitor was told
    nobody is online and gave an e-mail address; set at the start, or when the visitor
    leaves one while this chat is open (``left_offline``), never cleared."""
    offline_message_id: str | None = None
    """The ``client_msg_id`` of the visitor's latest offline message while they have
    written nothing else since; None once they write in the chat (they are back: the
    answers reach them there) or when they never left one. While it is set, an agent's
    answer is mailed too (``business.offline_answers``)."""
    started_by: StartedBy | None = None
    """What in the widget started it (the chain step, the trigger); fixed at the start."""
    locked: bool = False
    """A messaging thread its agent locked (``business.threads``): the visitor reads it
    and cannot write to it."""
    reserved_until: datetime | None = None
    """While queued after a hold the visitor answered: until then it is offered only to
    ``preferred_agent_id`` (``business.reawaken_rules``). Set only while queued."""
    idle_due_at: datetime | None = None
    """When the next inactivity rule of its queue is due (``business.inactivity``)."""
    idle_step: str | None = None
    """Which one (``business.inactivity_rules.IdleStep``); None with ``idle_due_at``."""

    @property
    def is_open(self) -> bool:
        return self.state is not ConversationState.ENDED

    @property
    def has_joined_agent(self) -> bool:
        """Whether its agent has joined it (active, or on hold with them)."""
        return self.state in (ConversationState.ACTIVE, ConversationState.ON_HOLD)

    @property
    def desk_agent_id(self) -> AgentId | None:
        """Whom the agent desk delivers this chat to: its agent, or the agent it is offered
        to (the offer, then what the visitor adds while it is open)."""
        return self.agent_id if self.agent_id is not None else self.offered_to

    def member(self, agent_id: str) -> Member | None:
        """``agent_id`` as a current member (not the owner), or None."""
        for member in self.members:
            if member.agent_id == agent_id:
                return member
        return None

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
        started_by: StartedBy | None = None,
        first_message: tuple[EventId, str, str] | None = None,
        bot: bool = False,
        channel: Channel = Channel.WEB,
        provider: str | None = None,
        external_id: str | None = None,
    ) -> Change:
        """A new queued conversation, or with ``bot`` one with the queue's bot (then
        ``position`` is not used: it is in no queue yet); ``first_message`` is (id,
        client_msg_id, text)."""
        state = ConversationState.BOT if bot else ConversationState.QUEUED
        conv = cls(
            id=id,
            tenant_id=tenant_id,
            visitor_id=visitor_id,
            visitor_name=visitor_name,
            queue=queue,
            state=state,
            created_at=now,
            context=context,
            form=dict(form),
            started_by=started_by,
            channel=channel,
            provider=provider,
            external_id=external_id,
        )
        builder = ChangeBuilder(conv, created=True)
        shown = None if bot else position
        builder.update(queue_position=shown)
        builder.state_changed(now)
        if first_message is not None:
            event_id, client_msg_id, text = first_message
            builder.message(
                id=event_id,
                sender=conv.visitor,
                text=text,
                client_msg_id=client_msg_id,
                at=now,
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
        quick_replies: tuple[QuickReply, ...] = (),
        rich: Rich | None = None,
        reply_to: RichReply | None = None,
    ) -> Change:
        """A message in an open conversation (``quick_replies``: a bot's only; ``rich``:
        anyone's but the visitor's; ``reply_to``: the visitor's answer to a rich one).

        A message from the conversation's agent moves the agent delivery cursor along
        when everything before it was delivered: the agent has it, it came from them.
        """
        if not self.is_open:
            raise InvalidTransition("this conversation has ended")
        builder = ChangeBuilder(self)
        message = builder.message(
            id=id,
            sender=sender,
            text=text,
            client_msg_id=client_msg_id,
            at=now,
            attachments=attachments,
            quick_replies=quick_replies,
            rich=rich,
            reply_to=reply_to,
        )
        if (
            sender.kind is ParticipantKind.VISITOR
            and self.offline_message_id is not None
            and client_msg_id != self.offline_message_id
        ):
            builder.update(offline_message_id=None)  # back in the chat
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
        builder.state_changed(now)
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
        conversation has no agent to leave; a held one has). Ended by a bot or the
        system (an integrator), nobody of theirs was in it: its agent, if one had
        joined, is the one who leaves. A wrap-up comes first, for the agent desk.
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
        in_it = by.kind in (ParticipantKind.VISITOR, ParticipantKind.AGENT)
        leaving = by if in_it else self.agent
        if self.has_joined_agent or by.kind is ParticipantKind.VISITOR:
            builder.add(
                lambda seq, pos: ParticipantLeft(
                    conversation_id=self.id,
                    seq=seq,
                    pos=pos,
                    created_at=now,
                    participant=leaving,
                    role="owner" if leaving.kind is ParticipantKind.AGENT else None,
                )
            )
        builder.state_changed(now, by=by)
        for member in self.members:
            # Delivered up to the end, like the owner.
            builder.remove_member(member.agent_id, now)
        return builder.done()

    def left_offline(
        self, form: Mapping[str, str], client_msg_id: str, context: VisitorContext
    ) -> Change:
        """The visitor left an offline message (``client_msg_id``, posted after this) in
        this open chat: it becomes one, with ``form`` (name, address) merged into its
        form, so the answer is mailed, and the context as ``with_context``."""
        if not self.is_open:
            raise InvalidTransition("this conversation has ended")
        merged = dataclasses.replace(
            self,
            form={**self.form, **form},
            context=self.context.merged(context),
            offline=True,
            offline_message_id=client_msg_id,
        )
        return Change(before=self, conversation=merged)

    def mark_read_by_visitor(self, seq: int) -> Change | None:
        """The visitor has seen everything up to ``seq``; None when that is not news."""
        if seq < 0 or seq > self.last_seq:
            raise InvalidInput(f"seq must be between 0 and {self.last_seq}")
        if seq <= self.visitor_read_seq:
            return None
        return Change(before=self, conversation=replaced(self, visitor_read_seq=seq))

    def mark_delivered_to_agent(self, pos: int) -> Change | None:
        """The agent desk confirmed delivery up to ``pos`` (never past ``last_pos``)."""
        pos = min(pos, self.last_pos)
        if pos <= self.agent_delivered_pos:
            return None
        return Change(before=self, conversation=replaced(self, agent_delivered_pos=pos))

    def with_context(self, context: VisitorContext) -> Change:
        merged = self.context.merged(context)
        return Change(before=self, conversation=dataclasses.replace(self, context=merged))
