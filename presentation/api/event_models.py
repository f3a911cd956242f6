"""A conversation's stored events in the REST API: one model per type, told apart by
``type`` (the discriminator the OpenAPI document names).

``VisibleEvent`` is what the visitor sees (the visitor protocol's events, with their
``seq``); ``InternalEvent`` adds what only the agent desk sees (notes, offers, members,
transfers, whispers, consult messages, wrap-ups, returns from hold), which have a
``pos`` but no ``seq``. Every event has its ``pos``: its place among all of the
conversation's events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, assert_never

from pydantic import BaseModel, ConfigDict, Field

from business.events import (
    ChatReturned,
    ConversationEvent,
    DeskMessage,
    IdleNoticed,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageUpdated,
    NoteAdded,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
    StoredEvent,
    Transferred,
    VisitorIdentified,
    Whispered,
    WrapUpRecorded,
)
from business.file_links import AttachmentUrl
from business.model import ConversationState, MemberRole, OfferKind
from business.rich import rich_to_json
from presentation.api.conversation_models import ParticipantOut, participant_out


class _Event(BaseModel):
    # "from" is a Python keyword: the field is ``sender``, its name on the wire "from".
    model_config = ConfigDict(serialize_by_alias=True)

    pos: int = Field(description="its place among all the conversation's events, from 1")
    created_at: datetime


class _Visible(_Event):
    seq: int = Field(description="its place among the events the visitor sees, from 1")


class QuickReplyOut(BaseModel):
    id: str
    label: str


class RichReplyOut(BaseModel):
    seq: int = Field(description="the `seq` of the rich message answered")
    payloads: list[str] = Field(description="the payloads chosen (`text` has their labels)")
    numbers: list[int] = Field(description="the choices' numbers, from 1, in the order shown")


class MessageEvent(_Visible):
    type: Literal["message"]
    id: str
    sender: ParticipantOut = Field(serialization_alias="from")
    text: str
    attachments: list[str] = Field(
        description="files, by URL: the engine's own as signed URLs that work for "
        "`files.agent_url_seconds` (7 days by default), fresh with every read"
    )
    client_msg_id: str | None = Field(
        description="the id its sender gave it (yours, for a message you posted)"
    )
    quick_replies: list[QuickReplyOut] = Field(description="a bot's buttons under it")
    rich: dict[str, Any] | None = Field(
        None,
        description="its rich content (quick replies, buttons, a card, a carousel or a "
        "list picker), as sent; see the integrator guide",
    )
    reply_to: RichReplyOut | None = Field(
        None, description="on the visitor's answer to a rich message: what they chose"
    )


class MessageUpdatedEvent(_Visible):
    type: Literal["message.updated"]
    id: str
    replaces: str = Field(description="the `id` of the message whose text this corrects")
    sender: ParticipantOut = Field(serialization_alias="from")
    text: str


class ParticipantEvent(_Visible):
    type: Literal["participant.joined", "participant.left"]
    participant: ParticipantOut
    role: str | None = Field(description="`owner` for the agent who has the chat")


class StateEvent(_Visible):
    type: Literal["state.changed"]
    state: ConversationState
    queue_position: int | None
    locked: bool | None = Field(
        default=None,
        description="on a messaging thread's lock or unlock: whether it is locked now",
    )
    reason: str | None = Field(
        default=None, description="on an end the engine decided: why (`inactivity`)"
    )


class ReadEvent(_Visible):
    type: Literal["read"]
    by: ParticipantOut
    up_to_seq: int = Field(description="they have read everything up to this `seq`")


class NoteEvent(_Event):
    type: Literal["note.added"]
    id: str
    by: ParticipantOut
    text: str


class WrapUpEvent(_Event):
    type: Literal["wrap_up"]
    by: ParticipantOut
    code: str | None
    note: str | None


class OfferMadeEvent(_Event):
    type: Literal["offer.made"]
    agent: ParticipantOut
    expires_at: datetime
    kind: OfferKind
    by: ParticipantOut | None = Field(description="who offered it; null: the router")
    note: str | None


class OfferClosedEvent(_Event):
    type: Literal["offer.closed"]
    agent: ParticipantOut
    outcome: OfferOutcome
    kind: OfferKind


class MemberEvent(_Event):
    type: Literal["member.joined", "member.left"]
    agent: ParticipantOut
    role: MemberRole


class TransferredEvent(_Event):
    type: Literal["transferred"]
    by: ParticipantOut
    to: ParticipantOut | None = Field(description="the agent it went to; null for a queue")
    queue: str | None = Field(description="the queue it went to; null for an agent")
    note: str | None


class WhisperEvent(_Event):
    type: Literal["whisper"]
    id: str
    by: ParticipantOut
    text: str


class DeskMessageEvent(_Event):
    type: Literal["desk.message"]
    id: str
    sender: ParticipantOut = Field(serialization_alias="from")
    text: str
    client_msg_id: str | None
    attachments: list[str] = Field(description="files, by URL, as a message's")


class ReturnedEvent(_Event):
    type: Literal["hold.returned"]
    agent: ParticipantOut


class VisitorIdentifiedEvent(_Event):
    type: Literal["visitor.identified"]
    visitor: ParticipantOut = Field(description="the visitor, named as after the change")
    changes: dict[str, str] = Field(
        description="what the site's `ChatEngine.identify` changed: `name`, `email`, "
        "`avatar` and custom fields, each with its new value"
    )


class IdleNoticedEvent(_Event):
    type: Literal["idle.noticed"]
    agent: ParticipantOut
    kind: str = Field(description="`reply_reminder`, `rerouted` or `visit_ended`")
    minutes: int


VisibleModel = MessageEvent | MessageUpdatedEvent | ParticipantEvent | StateEvent | ReadEvent
InternalModel = (
    VisibleModel
    | NoteEvent
    | WrapUpEvent
    | OfferMadeEvent
    | OfferClosedEvent
    | MemberEvent
    | TransferredEvent
    | WhisperEvent
    | DeskMessageEvent
    | ReturnedEvent
    | VisitorIdentifiedEvent
    | IdleNoticedEvent
)
VisibleEvent = Annotated[VisibleModel, Field(discriminator="type")]
InternalEvent = Annotated[InternalModel, Field(discriminator="type")]


class EventPage(BaseModel):
    items: list[VisibleEvent]
    has_more: bool = Field(description="more follow: ask again with the last `seq` as `after_seq`")


class InternalEventPage(BaseModel):
    items: list[InternalEvent]
    has_more: bool = Field(description="more follow: ask again with the last `pos` as `after_pos`")


def message_out(event: MessagePosted, attachment_url: AttachmentUrl) -> MessageEvent:
    """``attachment_url``: ``services.files.links.lasting`` (never the stored ``file:``)."""
    return MessageEvent(
        type="message",
        pos=event.pos,
        seq=event.seq,
        created_at=event.created_at,
        id=event.id,
        sender=participant_out(event.sender),
        text=event.text,
        attachments=[attachment_url(a) for a in event.attachments],
        client_msg_id=event.client_msg_id,
        quick_replies=[QuickReplyOut(id=r.id, label=r.label) for r in event.quick_replies],
        rich=None if event.rich is None else rich_to_json(event.rich),
        reply_to=None
        if event.reply_to is None
        else RichReplyOut(
            seq=event.reply_to.seq,
            payloads=list(event.reply_to.payloads),
            numbers=list(event.reply_to.numbers),
        ),
    )


def visible_out(event: ConversationEvent, attachment_url: AttachmentUrl) -> VisibleModel:
    pos, seq, at = event.pos, event.seq, event.created_at
    match event:
        case MessagePosted():
            return message_out(event, attachment_url)
        case MessageUpdated():
            return MessageUpdatedEvent(
                type="message.updated",
                pos=pos,
                seq=seq,
                created_at=at,
                id=event.id,
                replaces=event.replaces,
                sender=participant_out(event.sender),
                text=event.text,
            )
        case ParticipantJoined() | ParticipantLeft():
            return ParticipantEvent(
                type="participant.joined"
                if isinstance(event, ParticipantJoined)
                else "participant.left",
                pos=pos,
                seq=seq,
                created_at=at,
                participant=participant_out(event.participant),
                role=event.role,
            )
        case StateChanged():
            return StateEvent(
                type="state.changed",
                pos=pos,
                seq=seq,
                created_at=at,
                state=event.state,
                queue_position=event.queue_position,
                locked=event.locked,
                reason=event.reason,
            )
        case ReadMarked():
            return ReadEvent(
                type="read",
                pos=pos,
                seq=seq,
                created_at=at,
                by=participant_out(event.by),
                up_to_seq=event.up_to_seq,
            )
        case _:
            assert_never(event)


def internal_out(event: StoredEvent, attachment_url: AttachmentUrl) -> InternalModel:
    """Any stored event (the visitor's own kinds as ``visible_out`` makes them)."""
    pos, at = event.pos, event.created_at
    match event:
        case (
            (MessagePosted() | MessageUpdated() | ParticipantJoined() | ParticipantLeft())
            | StateChanged()
            | ReadMarked()
        ):
            return visible_out(event, attachment_url)
        case NoteAdded():
            return NoteEvent(
                type="note.added",
                pos=pos,
                created_at=at,
                id=event.id,
                by=participant_out(event.by),
                text=event.text,
            )
        case WrapUpRecorded():
            return WrapUpEvent(
                type="wrap_up",
                pos=pos,
                created_at=at,
                by=participant_out(event.by),
                code=event.code,
                note=event.note,
            )
        case OfferMade():
            return OfferMadeEvent(
                type="offer.made",
                pos=pos,
                created_at=at,
                agent=participant_out(event.agent),
                expires_at=event.expires_at,
                kind=event.kind,
                by=None if event.by is None else participant_out(event.by),
                note=event.note,
            )
        case OfferClosed():
            return OfferClosedEvent(
                type="offer.closed",
                pos=pos,
                created_at=at,
                agent=participant_out(event.agent),
                outcome=event.outcome,
                kind=event.kind,
            )
        case MemberJoined() | MemberLeft():
            return MemberEvent(
                type="member.joined" if isinstance(event, MemberJoined) else "member.left",
                pos=pos,
                created_at=at,
                agent=participant_out(event.agent),
                role=event.role,
            )
        case Transferred():
            return TransferredEvent(
                type="transferred",
                pos=pos,
                created_at=at,
                by=participant_out(event.by),
                to=None if event.to is None else participant_out(event.to),
                queue=event.queue,
                note=event.note,
            )
        case Whispered():
            return WhisperEvent(
                type="whisper",
                pos=pos,
                created_at=at,
                id=event.id,
                by=participant_out(event.by),
                text=event.text,
            )
        case DeskMessage():
            return DeskMessageEvent(
                type="desk.message",
                pos=pos,
                created_at=at,
                id=event.id,
                sender=participant_out(event.sender),
                text=event.text,
                client_msg_id=event.client_msg_id,
                attachments=[attachment_url(a) for a in event.attachments],
            )
        case ChatReturned():
            return ReturnedEvent(
                type="hold.returned", pos=pos, created_at=at, agent=participant_out(event.agent)
            )
        case VisitorIdentified():
            return VisitorIdentifiedEvent(
                type="visitor.identified",
                pos=pos,
                created_at=at,
                visitor=participant_out(event.visitor),
                changes=dict(event.changes),
            )
        case IdleNoticed():
            return IdleNoticedEvent(
                type="idle.noticed",
                pos=pos,
                created_at=at,
                agent=participant_out(event.agent),
                kind=event.kind,
                minutes=event.minutes,
            )
        case _:
            assert_never(event)
