"""Commands: what a caller asks for, in the imperative. Built by the edges after parsing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from business.bot_model import BotConfig
from business.model import (
    AgentId,
    AgentRole,
    ApiKeyId,
    ApiKeyScope,
    Channel,
    ConversationId,
    OfferKind,
    QueueName,
    TenantId,
    VisitorContext,
    VisitorId,
)
from business.opening_hours import OpeningHours
from business.rich import Rich as RichValue, RichReply
from business.visit import StartedBy


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSession:
    tenant_id: TenantId
    visitor_token: str | None = None
    create_unknown: bool = True
    """A token nobody has gets a new visitor; False: ``UnknownVisitor`` instead, so an edge
    can decide (rate-limit) before anything is created."""
    identity: str | None = None
    """A signed identity token (JWT) from the site (``business.identities``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstMessage:
    client_msg_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartConversation:
    visitor_id: VisitorId
    queue: QueueName | None = None
    form: Mapping[str, str] = field(default_factory=dict)
    context: VisitorContext = field(default_factory=VisitorContext)
    message: FirstMessage | None = None
    started_by: StartedBy | None = None
    """What in the widget started it (``business.visit``); None: not told."""
    channel: Channel = Channel.WEB
    """With ``provider`` and ``external_id``: given only by ``business.api_channel``."""
    provider: str | None = None
    external_id: str | None = None
    new_thread: bool = False
    """Messaging queues only: open another thread instead of returning the open one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendVisitorMessage:
    visitor_id: VisitorId
    conversation_id: ConversationId
    client_msg_id: str
    text: str
    reply_to: RichReply | None = None
    """An answer to a rich message, checked by ``business.rich_replies``."""
    attachments: tuple[str, ...] = ()
    """The visitor's own files, as ``file:<id>`` (``business.files.visitor_attachments``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetVisitorTyping:
    visitor_id: VisitorId
    conversation_id: ConversationId
    composing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkVisitorRead:
    visitor_id: VisitorId
    conversation_id: ConversationId
    seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkAgentRead:
    """The agent's client showed the conversation up to ``up_to_seq`` (an XEP-0333
    ``displayed`` marker): the visitor learns their messages were read."""

    agent_id: AgentId
    conversation_id: ConversationId
    up_to_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncEvents:
    visitor_id: VisitorId
    conversation_id: ConversationId
    after_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateContext:
    visitor_id: VisitorId
    context: VisitorContext


@dataclass(frozen=True, slots=True, kw_only=True)
class EndConversationByVisitor:
    visitor_id: VisitorId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestTranscript:
    """E-mail the conversation's transcript (``business.transcript_requests``)."""

    visitor_id: VisitorId
    conversation_id: ConversationId
    email: str | None = None
    """None: the address the conversation already knows (its form, the site's data)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendAgentMessage:
    agent_id: AgentId
    conversation_id: ConversationId
    text: str
    client_msg_id: str | None = None
    """The agent client's message id (the XMPP stanza id), so a resend is stored once."""
    attachments: tuple[str, ...] = ()
    """Files by URL (XEP-0066); ``text`` may then be empty."""
    rich: RichValue | None = None
    """Rich content under it (a rich canned response, ``!canned``)."""
    copied: tuple[str, ...] = ()
    """Files the engine copied into its own store (``file:<id>``, made by
    ``business.files.import_agent_file``, never from the agent's input); they follow
    ``attachments`` in the message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectAgentMessage:
    """An XEP-0308 correction: ``text`` replaces the agent's last message, the one their
    client sent with ``replaces`` as ``client_msg_id``."""

    agent_id: AgentId
    conversation_id: ConversationId
    replaces: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAgentTyping:
    agent_id: AgentId
    conversation_id: ConversationId
    composing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class EndConversationByAgent:
    agent_id: AgentId
    conversation_id: ConversationId
    wrap_up: str = ""
    """What the agent wrote after ``!end``: a wrap-up code of the queue, then a note (or
    only a note): see ``business.wrap_up``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAgentAvailability:
    agent_id: AgentId
    ready: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AddAgent:
    """Create the agent with this address, or update the one that has it."""

    address: str
    queues: tuple[QueueName, ...]
    max_chats: int
    tenant_id: TenantId
    name: str | None = None
    agent_id: AgentId | None = None
    """The engine id of a new agent; a new random one when None. Ignored on update."""
    role: AgentRole | None = None
    """None: a new agent is an agent, an existing one keeps their role."""
    supervises: tuple[QueueName, ...] | None = None
    """Only for supervisors; None: a new agent supervises nothing, an existing one keeps
    what they supervise (unless they stop being a supervisor)."""
    skills: Mapping[str, int] | None = None
    """Skill -> level 1..10; None: none for a new agent, unchanged for an existing one."""
    auto_accept: bool | None = None
    """Take offers at once; None: no for a new agent, unchanged for an existing one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureQueue:
    """Change a queue's settings; every field left None stays as it is."""

    tenant_id: TenantId
    queue: QueueName
    max_waiting: int | None = None
    default_max_waiting: bool = False
    """Let ``Limits.max_queue_waiting`` cap the queue again (instead of ``max_waiting``)."""
    offer_timeout: int | None = None
    wrap_up_codes: tuple[str, ...] | None = None
    """The codes, in order; an empty tuple removes them all."""
    require_wrap_up: bool | None = None
    skills: Mapping[str, int] | None = None
    """Skill -> minimum level; an empty mapping removes the requirement."""
    last_agent_window: int | None = None
    """Seconds; 0 turns the last-agent preference off."""
    bot: BotConfig | None = None
    """Put this bot first in the queue (``business.bot_config`` reads one)."""
    remove_bot: bool = False
    """No bot any more: new chats start queued (chats with the bot now are handed over
    at the visitor's next message)."""
    opening_hours: OpeningHours | None = None
    """Starts are refused outside these hours (``business.opening_hours``)."""
    always_open: bool = False
    """Remove the opening hours: starts are taken at any time again."""
    mode: str | None = None
    """``live`` or ``messaging`` (``business.threads``)."""
    reawaken_window: int | None = None
    """Seconds a held chat the visitor answered waits for its agent (``business.reawaken``);
    0: not at all."""
    visitor_idle_alert: int | None = None
    """Inactivity (``business.inactivity``), in seconds; 0 turns the rule off."""
    visitor_idle_close: int | None = None
    agent_reply_reminder: int | None = None
    agent_reply_reroute: bool | None = None
    messaging_idle: int | None = None
    visitor_idle_alert_text: str | None = None
    """The queue's own alert text; ``""``: back to the built-in one."""
    visitor_idle_close_text: str | None = None
    """The queue's own closing text; ``""``: back to the built-in one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCannedResponse:
    """Add a canned response, or replace the text of the one with this name."""

    tenant_id: TenantId
    queue: QueueName | None
    """None: for every queue of the tenant."""
    name: str
    text: str
    rich: RichValue | None = None
    """Rich content sent under the text (``business.rich``, checked when parsed)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveCannedResponse:
    tenant_id: TenantId
    queue: QueueName | None
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateQueue:
    """Add a queue with these settings (the others at their defaults)."""

    tenant_id: TenantId
    queue: QueueName
    title: str | None = None
    """What visitors see; None: the name, capitalised."""
    settings: ConfigureQueue | None = None
    """Settings to give it at once, as ``ConfigureQueue`` would change them (its tenant
    and queue are ignored)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveAgent:
    tenant_id: TenantId
    """The agent must be of this tenant (otherwise: ``NotFound``)."""
    agent_id: AgentId


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTenant:
    name: str
    tenant_id: TenantId | None = None
    """The tenant's slug, also its public widget key; None: made from ``name``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureTenant:
    """Change what is given of a tenant's settings (``business.tenant_settings``); None
    leaves a setting as it is."""

    tenant_id: TenantId
    transcript_auto_send: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateApiKey:
    scope: ApiKeyScope
    tenant_id: TenantId | None
    """None exactly for a ``platform`` key."""
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeApiKey:
    key_id: ApiKeyId
    tenant_id: TenantId | None = None
    """Only a key of this tenant may be revoked (another is ``NotFound``); None: any key
    (the operator's CLI and platform keys)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptOffer:
    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclineOffer:
    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class AddNote:
    """An internal note by an agent in their conversation (``!note``)."""

    agent_id: AgentId
    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferToColleague:
    """``!transfer``, ``!invite`` or ``!consult``: ``target`` is an agent's address or a
    queue's name."""

    agent_id: AgentId
    conversation_id: ConversationId
    kind: OfferKind
    target: str
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveConversation:
    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnToBot:
    """Send the visitor back to the queue's bot (``!bot``): see ``business.bots``."""

    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class LockThread:
    """Lock (``!lock``) or unlock (``!unlock``) the agent's messaging thread:
    see ``business.threads``."""

    agent_id: AgentId
    conversation_id: ConversationId
    locked: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenThread:
    """Open a new messaging thread to the visitor of the agent's conversation
    (``!newthread text``): see ``business.outbound_threads``."""

    agent_id: AgentId
    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldChat:
    """Park the agent's active chat (``!hold``): see ``business.hold``."""

    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class UnholdChat:
    """Take a held chat back (``!unhold``)."""

    agent_id: AgentId
    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitor:
    """``monitor <conversation id|agent address>`` (``unmonitor`` with ``stop``)."""

    supervisor_id: AgentId
    target: str
    stop: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Whisper:
    supervisor_id: AgentId
    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Barge:
    supervisor_id: AgentId
    conversation_id: ConversationId
