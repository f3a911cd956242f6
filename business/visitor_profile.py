"""What an agent may learn about the visitor of a chat (``!info``, ``!history [n]``):
who they are, what the site told about them, and their earlier conversations.

Read-only units of work; only the chat's agent, or the agent it is offered to, may ask.
Bounded whatever the visitor's past: the newest ``MAX_EARLIER`` ended conversations, and
the last ``n`` messages and notes of each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, NotFound
from business.events import MessagePosted, NoteAdded, WrapUpRecorded
from business.identity_model import VisitorIdentity
from business.model import (
    AgentId,
    Channel,
    ConversationId,
    ParticipantKind,
    QueueName,
    VisitorContext,
)
from business.transactions import Transactions
from business.visit import StartedBy

MAX_EARLIER = 5
"""Earlier conversations shown at most."""
DEFAULT_MESSAGES = 5
MAX_MESSAGES = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorInfo:
    name: str
    visitor_id: str
    identity: str | None
    """The verified identity's ``sub`` (``business.identities``); None: anonymous."""
    form: Mapping[str, str]
    context: VisitorContext
    earlier: int
    """How many earlier conversations they had (up to ``MAX_EARLIER``; more are not counted)."""
    channel: Channel = Channel.WEB
    provider: str | None = None
    external_id: str | None = None
    """``api`` only: the visitor's address on the integrator's service."""
    started_by: StartedBy | None = None
    """What in the widget started this chat (``business.visit``)."""
    verified: VisitorIdentity | None = None
    """What the visitor's signed identity says (name, e-mail, extra values)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    at: datetime
    who: str
    text: str
    note: bool = False
    kind: ParticipantKind = ParticipantKind.AGENT
    attachments: tuple[str, ...] = ()
    """As stored (``file:<id>`` or a URL): the edge shows them as signed URLs."""
    """Whose (an agent, the visitor, a bot ...), so that the desk names a bot as one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PastConversation:
    id: ConversationId
    started_at: datetime
    queue: QueueName
    agent: str | None
    outcome: str
    """The wrap-up code, ``ended`` without one, or the state it is still in."""
    lines: Sequence[Line]
    """The last messages and notes, oldest first."""


class VisitorProfileService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def info(self, agent_id: AgentId, conversation_id: ConversationId) -> VisitorInfo:
        async with self._tx.read() as tx:
            conv = _for(agent_id, await tx.conversations.get(conversation_id))
            others = await tx.conversations.list_for_visitor(conv.visitor_id, ended=MAX_EARLIER)
            verified = await tx.visitor_identities.get_for_visitor(conv.visitor_id)
        return VisitorInfo(
            name=conv.visitor_name,
            visitor_id=conv.visitor_id,
            identity=None if verified is None else verified.sub,
            verified=verified,
            form=dict(conv.form),
            context=conv.context,
            earlier=sum(1 for other in others if other.id != conv.id),
            channel=conv.channel,
            provider=conv.provider,
            external_id=conv.external_id,
            started_by=conv.started_by,
        )

    async def history(
        self, agent_id: AgentId, conversation_id: ConversationId, messages: int = DEFAULT_MESSAGES
    ) -> Sequence[PastConversation]:
        """The visitor's earlier conversations, newest first, each with its last
        ``messages`` messages and notes."""
        if not 1 <= messages <= MAX_MESSAGES:
            raise InvalidInput(f"the number of messages must be between 1 and {MAX_MESSAGES}")
        async with self._tx.read() as tx:
            conv = _for(agent_id, await tx.conversations.get(conversation_id))
            others = [
                other
                for other in await tx.conversations.list_for_visitor(
                    conv.visitor_id, ended=MAX_EARLIER
                )
                if other.id != conv.id
            ][:MAX_EARLIER]
            found = []
            for other in others:
                events = await tx.events.list_after_pos(other.id, 0, other.last_pos)
                found.append(_past(other, events, messages))
        return found


def _for(agent_id: AgentId, conv: Conversation | None) -> Conversation:
    if conv is None:
        raise NotFound("unknown conversation")
    if agent_id not in (conv.agent_id, conv.offered_to):
        raise Forbidden("you are not the agent of this conversation")
    return conv


def _past(conv: Conversation, events: Sequence[object], messages: int) -> PastConversation:
    lines: list[Line] = []
    outcome = "ended" if not conv.is_open else str(conv.state)
    for event in events:
        match event:
            case MessagePosted(created_at=at, sender=who, text=text):
                files = event.attachments
                lines.append(Line(at=at, who=who.name, text=text, kind=who.kind, attachments=files))
            case NoteAdded(created_at=at, by=who, text=text):
                lines.append(Line(at=at, who=who.name, text=text, note=True, kind=who.kind))
            case WrapUpRecorded(code=code) if code:
                outcome = code
    return PastConversation(
        id=conv.id,
        started_at=conv.created_at,
        queue=conv.queue,
        agent=conv.agent_name,
        outcome=outcome,
        lines=lines[-messages:],
    )
