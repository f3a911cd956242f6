"""How conversations, their participants and their transcripts look in the REST API.

Unlike the visitor protocol, an integrator sees ids: the visitor's, the agents' (those
of ``/agents``), and a bot's own id if it gave one, so that it can join them with its
other calls and with webhooks, which name participants the same way.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from business.conversation import Conversation
from business.conversation_query_ports import MessageCounts
from business.model import (
    Channel,
    ConversationState,
    MemberRole,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.transcripts import LineKind, Transcript
from business.visit import ChainStep
from presentation.api.pagination import Page


class ParticipantOut(BaseModel):
    """Who wrote or did something."""

    kind: ParticipantKind
    name: str = Field(description="the name shown to the visitor and the agents")
    id: str | None = Field(
        description="the visitor's or agent's id; a bot's own id if it gave one; else null"
    )


class VisitorRef(BaseModel):
    id: str = Field(description="the visitor's id (`/visitors/{visitor_id}`)")
    name: str = Field(description="the name they gave, or the one the engine gave them")


class AgentRef(BaseModel):
    id: str = Field(description="the agent's id (`/agents/{agent_id}`)")
    name: str | None


class MemberOut(BaseModel):
    """An agent in the conversation besides its owner."""

    agent_id: str
    name: str
    role: MemberRole = Field(
        description="`invited` (in a conference), `consultant` (seen by the agents only), "
        "`monitor` (a supervisor watching), `supervisor` (barged in), `offered` (a "
        "transfer, invitation or consult not answered yet), `former` (its owner before a "
        "transfer)"
    )


class OfferOut(BaseModel):
    """The offer open now: the conversation waits for this agent's answer."""

    agent: AgentRef
    kind: OfferKind
    expires_at: datetime | None


class PageViewOut(BaseModel):
    """A page the visitor saw in this visit (a load or a single-page app's navigation)."""

    url: str
    title: str | None
    at: datetime = Field(description="when they came to it, by the visitor's clock")
    seconds: int = Field(description="how long they stayed on it (so far, for the last)")


class ContextOut(BaseModel):
    """What the visitor's page told the engine."""

    page_url: str | None
    page_title: str | None
    referrer: str | None
    custom: dict[str, str] = Field(description="the site's custom variables")
    visit_count: int | None = Field(
        description="the visitor's visits to the site, this one included; null: not told"
    )
    time_on_site: int | None = Field(
        description="seconds since the visit's first page view, when the widget last told"
    )
    pages: list[PageViewOut] | None = Field(
        description="the visit's newest page views (at most 20), oldest first; null: not told"
    )


class StartedByOut(BaseModel):
    """What in the widget started the conversation."""

    chain: ChainStep = Field(
        description="the chat manager's step: `embedded`, `continuation`, `messaging` or `triggers`"
    )
    trigger: str | None = Field(
        description="for `triggers`: the id of the trigger that fired; null: none had"
    )


class ConversationOut(BaseModel):
    id: str
    state: ConversationState = Field(
        description="`bot` (with the queue's bot), `queued`, `active`, `on_hold` or `ended`"
    )
    queue: str
    visitor: VisitorRef
    agent: AgentRef | None = Field(
        description="its owner: the agent who has it, or had it last once ended; null if "
        "no agent ever took it"
    )
    members: list[MemberOut]
    offer: OfferOut | None
    queue_position: int | None = Field(description="while queued: the place the visitor was told")
    created_at: datetime
    assigned_at: datetime | None = Field(description="when an agent first took it")
    ended_at: datetime | None
    last_seq: int = Field(description="the `seq` of its newest event the visitor sees")
    context: ContextOut
    form: dict[str, str] = Field(description="the pre-chat form the visitor filled in")
    channel: Channel = Field(
        description="where the visitor writes from: `web` (the widget) or `api` (your "
        "bridge to another messaging service, `POST /channels/api/messages`)"
    )
    provider: str | None = Field(
        description="`api` only: your label of the messaging service (`sms`, `whatsapp`...)"
    )
    external_id: str | None = Field(
        description="`api` only: the visitor's address on that service (a phone number...)"
    )
    started_by: StartedByOut | None = Field(
        description="what in the widget started it; null: not told (other clients, the API)"
    )


class MessageCountsOut(BaseModel):
    """Messages stored in the conversation, by who wrote them, and its internal notes."""

    visitor: int
    agent: int = Field(description="messages agents wrote to the visitor")
    bot: int
    system: int
    notes: int


class ConversationDetailsOut(ConversationOut):
    counts: MessageCountsOut


class ConversationPage(Page[ConversationOut]):
    pass


class LineSender(BaseModel):
    kind: ParticipantKind
    name: str


class TranscriptLineOut(BaseModel):
    at: datetime
    kind: LineKind
    sender: LineSender | None = Field(description="who it is from or about; null for the end")
    text: str = Field(
        description="a message's text (its latest, if corrected); for the other kinds the "
        "whole line as the plain text shows it"
    )
    attachments: list[str]
    edited: bool = Field(description="the sender corrected the message afterwards")


class TranscriptOut(BaseModel):
    conversation_id: str
    visitor_name: str
    queue: str
    started_at: datetime
    ended_at: datetime | None
    lines: list[TranscriptLineOut]
    text: str = Field(description="the whole transcript as plain text, one line each")


def participant_out(participant: Participant) -> ParticipantOut:
    return ParticipantOut(kind=participant.kind, name=participant.name, id=participant.id)


def conversation_out(conv: Conversation) -> ConversationOut:
    offer = None
    if conv.offered_to is not None:
        offer = OfferOut(
            agent=AgentRef(id=conv.offered_to, name=conv.offered_name),
            kind=conv.offer_kind,
            expires_at=conv.offer_expires_at,
        )
    return ConversationOut(
        id=conv.id,
        state=conv.state,
        queue=conv.queue,
        visitor=VisitorRef(id=conv.visitor_id, name=conv.visitor_name),
        agent=None if conv.agent_id is None else AgentRef(id=conv.agent_id, name=conv.agent_name),
        members=[MemberOut(agent_id=m.agent_id, name=m.name, role=m.role) for m in conv.members],
        offer=offer,
        queue_position=conv.queue_position,
        created_at=conv.created_at,
        assigned_at=conv.assigned_at,
        ended_at=conv.ended_at,
        last_seq=conv.last_seq,
        context=ContextOut(
            page_url=conv.context.page_url,
            page_title=conv.context.page_title,
            referrer=conv.context.referrer,
            custom=dict(conv.context.custom),
            visit_count=conv.context.visit_count,
            time_on_site=conv.context.time_on_site,
            pages=None
            if conv.context.pages is None
            else [
                PageViewOut(url=p.url, title=p.title, at=p.at, seconds=p.seconds)
                for p in conv.context.pages
            ],
        ),
        started_by=None
        if conv.started_by is None
        else StartedByOut(chain=conv.started_by.chain, trigger=conv.started_by.trigger),
        form=dict(conv.form),
        channel=conv.channel,
        provider=conv.provider,
        external_id=conv.external_id,
    )


def details_out(conv: Conversation, counts: MessageCounts) -> ConversationDetailsOut:
    counted = MessageCountsOut(
        visitor=counts.visitor,
        agent=counts.agent,
        bot=counts.bot,
        system=counts.system,
        notes=counts.notes,
    )
    return ConversationDetailsOut.model_validate(
        {**dict(conversation_out(conv)), "counts": counted}
    )


def transcript_out(transcript: Transcript) -> TranscriptOut:
    return TranscriptOut(
        conversation_id=transcript.conversation_id,
        visitor_name=transcript.visitor_name,
        queue=transcript.queue,
        started_at=transcript.started_at,
        ended_at=transcript.ended_at,
        lines=[
            TranscriptLineOut(
                at=line.at,
                kind=line.kind,
                sender=(
                    None
                    if line.sender_kind is None
                    else LineSender(kind=line.sender_kind, name=line.sender_name or "")
                ),
                text=line.text,
                attachments=list(line.attachments),
                edited=line.edited,
            )
            for line in transcript.lines
        ],
        text=transcript.text,
    )
