"""Domain model: plain frozen dataclasses, no framework imports.

Entities are immutable; a change produces a new value (``dataclasses.replace``) that a
repository saves. That keeps every change explicit and lets any layer hold a value
without fearing that somebody else mutates it. The conversation, the one aggregate
whose changes produce events, lives in ``business.conversation``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NewType

from business.bot_model import BotConfig
from business.ids import random_hex_id
from business.opening_hours import OpeningHours
from business.rich import Rich
from business.visit import PageView

TenantId = NewType("TenantId", str)
VisitorId = NewType("VisitorId", str)
ConversationId = NewType("ConversationId", str)
EventId = NewType("EventId", str)
AgentId = NewType("AgentId", str)
"""The engine's own id of an agent; how agents are reached is their ``address``."""
QueueName = NewType("QueueName", str)

DEFAULT_TENANT = TenantId("default")
DEFAULT_QUEUE = QueueName("support")
DEFAULT_OFFER_TIMEOUT = 20
"""Seconds an agent has to take an offered chat, unless the queue says otherwise."""
DEFAULT_REAWAKEN_WINDOW = 120
"""Seconds a held chat the visitor answered waits for its agent alone (``business.reawaken``)."""


def new_id() -> str:
    """A new random id: 32 lower-case hex digits (a version-4 UUID, ``business.ids``)."""
    return random_hex_id()


class ConversationState(StrEnum):
    BOT = "bot"
    """With the queue's bot (``business.bots``): not in the queue, offered to nobody,
    counted against no limit, until the bot hands it over."""
    QUEUED = "queued"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    """Parked by its agent (``business.hold``): it keeps its agent but no place of theirs;
    the visitor's next message brings it back."""
    ENDED = "ended"


OPEN_STATES: tuple[ConversationState, ...] = (
    ConversationState.BOT,
    ConversationState.QUEUED,
    ConversationState.ACTIVE,
    ConversationState.ON_HOLD,
)
"""Every state but ``ended``, in the order a conversation usually goes through them (and
``/metrics`` lists them)."""


class Channel(StrEnum):
    """Where a conversation's visitor writes from: the widget, or an integrator's bridge
    to another messaging service."""

    # Its docstring is the REST document's description: the API channel is
    # ``business.api_channel``.

    WEB = "web"
    """The widget, over Socket.IO."""
    API = "api"
    """An integrator's bridge to another messaging service (SMS, WhatsApp ...): the
    visitor's messages come in by REST, the agents' go out by webhook."""


class QueueMode(StrEnum):
    """How a queue's conversations live (``business.threads``)."""

    LIVE = "live"
    """Live chat: the visitor may end it, as a chat ends when the visitor leaves."""
    MESSAGING = "messaging"
    """Messaging: threads stay open across visits and devices until an agent (or an
    integrator) closes them; the visitor may keep several."""


class OfferKind(StrEnum):
    """Why a chat is offered to an agent."""

    ROUTE = "route"
    """The router picked them for a queued chat."""
    TRANSFER = "transfer"
    """Its agent hands it over (``!transfer``): accepted, they own it."""
    INVITE = "invite"
    """A conference (``!invite``): accepted, they join visibly to the visitor."""
    CONSULT = "consult"
    """A consult (``!consult``): accepted, they join where the visitor cannot see them."""


class MemberRole(StrEnum):
    """What an agent besides the owner is in a conversation (``Member``)."""

    OFFERED = "offered"
    """A transfer, invitation or consult is offered to them and not answered yet."""
    INVITED = "invited"
    """In the conference: the visitor sees them and what they write."""
    CONSULTANT = "consultant"
    """Consulted: the agents see what they write, the visitor never."""
    FORMER = "former"
    """Its owner before a transfer: kept only to deliver what happened up to then."""
    MONITOR = "monitor"
    """A supervisor watching silently: copies of everything, nobody sees them."""
    SUPERVISOR = "supervisor"
    """A supervisor who barged in: the visitor sees them and what they write."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """An agent in a conversation who is not its owner (``Conversation.agent_id``)."""

    agent_id: AgentId
    name: str
    role: MemberRole

    @property
    def visible(self) -> bool:
        """Whether the visitor sees them and what they write."""
        return self.role in (MemberRole.INVITED, MemberRole.SUPERVISOR)

    def as_participant(self) -> Participant:
        return Participant(kind=ParticipantKind.AGENT, name=self.name, id=self.agent_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitor:
    """A supervisor who monitors all of an agent's chats (in the queues they supervise)."""

    agent_id: AgentId
    name: str
    queues: tuple[QueueName, ...]


class AgentRole(StrEnum):
    """What an agent may do at the desk besides taking chats."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    """Also monitors, whispers and barges in the queues they supervise."""


Skills = Mapping[str, int]
"""Skill name (a lower-case word) -> level 1..10: what an agent has, or the minimum a
queue requires."""


class ParticipantKind(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    kind: ParticipantKind
    name: str
    id: str | None = None
    """Visitor id or agent id; never shown to the other side."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    id: TenantId
    name: str
    created_at: datetime
    transcript_auto_send: bool = False
    """E-mail the visitor the transcript when a conversation ends, if an address is known
    (``business.transcript_auto_send``; needs the engine's ``[mail]`` settings)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Queue:
    tenant_id: TenantId
    name: QueueName
    title: str
    waiting: int = 0
    """How many conversations wait in it now. Kept by the unit of work whenever a
    conversation enters or leaves the queued state, so a start learns its position
    without counting the queue."""
    max_waiting: int | None = None
    """Starts are refused (``QueueFull``) while this many wait; None: ``Limits`` decides."""
    offer_timeout: int = DEFAULT_OFFER_TIMEOUT
    """Seconds an agent has to take an offered chat of this queue."""
    wrap_up_codes: tuple[str, ...] = ()
    """The codes an agent may end a chat of this queue with, in the configured order."""
    require_wrap_up: bool = False
    """Ending a chat needs one of ``wrap_up_codes`` (there is at least one then)."""
    skills: Skills = field(default_factory=dict)
    """Only agents with every one of these skills at this level or higher get its chats."""
    last_agent_window: int | None = 86400
    """Seconds after a visitor's last chat during which the agent who served it is
    preferred for their next one; None: never."""
    bot: BotConfig | None = None
    """The bot that talks to its visitors first (``business.bots``); None: none, chats
    start queued."""
    opening_hours: OpeningHours | None = None
    """When visitors may start chats (``business.opening_hours``); None: always."""
    mode: QueueMode = QueueMode.LIVE
    """Live chat or messaging threads (``business.threads``)."""
    reawaken_window: int = DEFAULT_REAWAKEN_WINDOW
    """Seconds a held chat the visitor answered waits in the queue for its agent alone
    when they cannot take it at once (``business.reawaken``); 0: none, it goes to
    whoever is free (its agent still preferred)."""
    visitor_idle_alert: int = 0
    """Seconds of the visitor's silence after an agent's message before they are asked
    whether they are still there (``business.inactivity``); 0: never."""
    visitor_idle_close: int = 0
    """Seconds after that alert before the chat ends for inactivity; 0: it does not."""
    agent_reply_reminder: int = 0
    """Seconds a visitor's message may wait for the agent's answer before the agent is
    reminded; 0: never."""
    agent_reply_reroute: bool = False
    """The same time again after the reminder, the chat goes back to the queue."""
    messaging_idle: int = 86400
    """Messaging mode: seconds without a message either way after which the visit is
    over and the thread leaves its agent (``business.inactivity``); 0: never."""
    visitor_idle_alert_text: str | None = None
    """What the silent visitor is asked (``business.inactivity_texts``); None: the
    built-in text in the tenant's language."""
    visitor_idle_close_text: str | None = None
    """What the visitor reads when the chat ends for inactivity; None: built-in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CannedResponse:
    """A prepared answer agents send by name; ``{visitor}``, ``{agent}`` and ``{queue}`` in
    its text are filled in when it is sent."""

    tenant_id: TenantId
    queue: QueueName | None
    """The queue whose agents use it; None: every queue of the tenant. A queue's own
    response wins over a tenant-wide one of the same name."""
    name: str
    text: str
    created_at: datetime
    rich: Rich | None = None
    """Rich content sent under the text (``business.rich``): choices, a card, a list."""


ApiKeyId = NewType("ApiKeyId", str)
"""The public part of an API key (``ce_<id>_<secret>``): how it is listed and revoked."""


class ApiKeyScope(StrEnum):
    """What an API key may do (``business.api_keys``)."""

    ADMIN = "admin"
    """Everything in its tenant: configuration, keys."""
    READ = "read"
    """Reads in its tenant."""
    BOT = "bot"
    """What an external bot needs in its tenant (its conversations; nothing of the
    configuration)."""
    PLATFORM = "platform"
    """The operator's: manages tenants; belongs to no tenant."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """An API key as it is shown: never its secret, which is stored only hashed.

    Invariant: ``tenant_id`` is None exactly for a ``platform`` key."""

    id: ApiKeyId
    tenant_id: TenantId | None
    scope: ApiKeyScope
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    """Roughly: written at most once a minute per key and process."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Visitor:
    id: VisitorId
    tenant_id: TenantId
    created_at: datetime
    name: str | None = None
    last_agent_id: AgentId | None = None
    """The agent of the visitor's last chat that had one, and when it ended: a returning
    visitor goes to them first (the queue's ``last_agent_window``)."""
    last_served_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorContext:
    """Where the visitor is and what the site told us about them."""

    page_url: str | None = None
    page_title: str | None = None
    referrer: str | None = None
    custom: Mapping[str, str] = field(default_factory=dict)
    # The visit as the widget recorded it (business.visit); None: not told.
    visit_count: int | None = None
    time_on_site: int | None = None
    """Seconds since the visit's first page view, when the browser last told."""
    pages: tuple[PageView, ...] | None = None
    """The visit's newest page views, oldest first (at most ``visit.MAX_PAGES``)."""

    def merged(self, other: VisitorContext) -> VisitorContext:
        """Fields set in ``other`` win; custom variables are merged key by key; the
        page views are the newer list as a whole (the browser sends the visit's)."""
        return VisitorContext(
            page_url=other.page_url if other.page_url is not None else self.page_url,
            page_title=other.page_title if other.page_title is not None else self.page_title,
            referrer=other.referrer if other.referrer is not None else self.referrer,
            custom={**self.custom, **other.custom},
            visit_count=self.visit_count if other.visit_count is None else other.visit_count,
            time_on_site=self.time_on_site if other.time_on_site is None else other.time_on_site,
            pages=self.pages if other.pages is None else other.pages,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Agent:
    """Somebody who takes chats.

    ``id`` is the engine's own and never changes; ``address`` is where the agent desk
    reaches them (the bare JID of their XMPP account), in the form the
    ``AddressNormalizer`` port gives it, and unique across tenants.
    """

    id: AgentId
    tenant_id: TenantId
    address: str
    name: str
    max_chats: int
    queues: tuple[QueueName, ...]
    ready: bool = False
    ready_since: datetime | None = None
    last_routed_at: datetime | None = None
    role: AgentRole = AgentRole.AGENT
    supervises: tuple[QueueName, ...] = ()
    """The queues a supervisor supervises; empty for everybody else."""
    skills: Skills = field(default_factory=dict)
    auto_accept: bool = False
    """Offers are taken at once for them (auto-answer): the chat arrives as theirs."""
    monitored_by: tuple[Monitor, ...] = ()
    """Supervisors monitoring all of their chats: each new chat of theirs in a queue the
    supervisor supervises has them as a monitor from the offer on."""

    def qualifies(self, required: Skills) -> bool:
        """Whether this agent has every skill ``required`` at its level or higher."""
        return all(self.skills.get(name, 0) >= level for name, level in required.items())

    def idle_since(self) -> datetime | None:
        """The later of becoming ready and getting the last chat: longest idle goes first."""
        times = [t for t in (self.ready_since, self.last_routed_at) if t is not None]
        return max(times) if times else None

    def as_participant(self) -> Participant:
        return Participant(kind=ParticipantKind.AGENT, name=self.name, id=self.id)
