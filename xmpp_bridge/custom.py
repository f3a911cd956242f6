"""The bridge's own typed values: what a stanza means (inbound) and what to send (outbound).

``converters.stanza_to_custom`` produces the inbound ones (commands through
``agent_commands``), ``converters.custom_to_stanza`` consumes the outbound ones. Nothing
here knows slixmpp; everything is a frozen dataclass so the dispatch code and its tests
never touch XML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from business.conversation import Conversation
from business.events import OfferMade, StoredEvent
from business.model import AgentId, ConversationId, QueueName
from xmpp_bridge.custom_commands import (
    BackToBot as BackToBot,
    BargeIn as BargeIn,
    ColleagueCommand as ColleagueCommand,
    ConsultWith as ConsultWith,
    EndChat as EndChat,
    EngineCapacity as EngineCapacity,
    EngineChats as EngineChats,
    EngineHelp as EngineHelp,
    EngineMonitor as EngineMonitor,
    EngineQueues as EngineQueues,
    EngineStatus as EngineStatus,
    EngineUnmonitor as EngineUnmonitor,
    HoldChat as HoldChat,
    InviteTo as InviteTo,
    LeaveChat as LeaveChat,
    LockThread as LockThread,
    NewThread as NewThread,
    PassOffer as PassOffer,
    ShowHelp as ShowHelp,
    ShowHistory as ShowHistory,
    ShowInfo as ShowInfo,
    SupervisorCommand as SupervisorCommand,
    TakeOffer as TakeOffer,
    TransferTo as TransferTo,
    UnholdChat as UnholdChat,
    UnknownCommand as UnknownCommand,
    UnknownEngineCommand as UnknownEngineCommand,
    UnlockThread as UnlockThread,
    UseCanned as UseCanned,
    WhisperText as WhisperText,
    WriteNote as WriteNote,
)

# -- inbound ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Origin:
    """Where a received stanza came from; enough to answer or bounce it."""

    kind: Literal["message", "presence"]
    sender: str
    """Full JID as received (bare for presence probes and subscriptions)."""
    recipient: str
    """The JID at the component it was addressed to, bare."""
    address: str
    """The sender's bare JID, normalised: the address agents are known by."""
    stanza_id: str | None = None
    receipt_requested: bool = False
    """XEP-0184: the sender asked to be told once the message is stored."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentMessage:
    """Text an agent wrote in a conversation window, for the visitor."""

    conversation_id: ConversationId
    text: str
    client_msg_id: str | None = None
    """From the stanza id, so a resent stanza is stored once."""
    attachments: tuple[str, ...] = ()
    """XEP-0066: a file's URL, when the body is that URL (``text`` is then empty)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCorrection:
    """XEP-0308: ``text`` replaces the agent's message whose ``client_msg_id`` is
    ``replaces`` (from the ``<replace id=…/>``)."""

    conversation_id: ConversationId
    replaces: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDisplayed:
    """XEP-0333: the agent's client displayed the conversation up to the message the
    engine sent with id ``marked_id``."""

    conversation_id: ConversationId
    marked_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfirmed:
    """An XEP-0184 receipt (or XEP-0333 ``received``) for ``confirmed_id``: logged only,
    delivery is confirmed by echoes (``xmpp_bridge.cursors``)."""

    conversation_id: ConversationId
    confirmed_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTyping:
    conversation_id: ConversationId
    composing: bool


class Show(StrEnum):
    """An available resource's presence ``<show/>``; ``AVAILABLE`` when there is none."""

    AVAILABLE = "available"
    CHAT = "chat"
    AWAY = "away"
    XA = "xa"
    DND = "dnd"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourcePresence:
    """Presence of one of an agent's resources, as the queue JID received it.

    ``show`` is None for unavailable; an empty ``resource`` with ``show`` None means
    every resource is gone (the answer to a probe of an offline account).
    """

    address: str
    resource: str
    queue: QueueName
    show: Show | None


class SubscriptionKind(StrEnum):
    SUBSCRIBE = "subscribe"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBE = "unsubscribe"
    UNSUBSCRIBED = "unsubscribed"
    PROBE = "probe"


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionStanza:
    """A presence subscription stanza or probe between an agent and a queue JID."""

    address: str
    queue: QueueName
    kind: SubscriptionKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounced:
    """A stanza of type error: something we sent did not arrive."""

    condition: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unroutable:
    """A message to an address the component does not serve."""


Payload = (
    AgentMessage
    | AgentCorrection
    | AgentDisplayed
    | DeliveryConfirmed
    | AgentTyping
    | EndChat
    | WriteNote
    | UseCanned
    | TakeOffer
    | PassOffer
    | TransferTo
    | InviteTo
    | ConsultWith
    | LeaveChat
    | WhisperText
    | BargeIn
    | ShowInfo
    | ShowHistory
    | HoldChat
    | UnholdChat
    | LockThread
    | UnlockThread
    | NewThread
    | BackToBot
    | ShowHelp
    | UnknownCommand
    | EngineHelp
    | EngineStatus
    | EngineChats
    | EngineCapacity
    | EngineQueues
    | EngineMonitor
    | EngineUnmonitor
    | UnknownEngineCommand
    | ResourcePresence
    | SubscriptionStanza
    | Bounced
    | Unroutable
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    origin: Origin
    payload: Payload


# -- outbound -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOffer:
    """The first message an agent gets for a conversation: who, where, what so far."""

    conversation: Conversation
    to: str
    """The agent's address."""
    offer: OfferMade
    earlier: Sequence[StoredEvent]
    """Stored events before the offer, in pos order."""
    delayed: bool = False
    """Sent late (replayed after the link was down): stamp it with XEP-0203."""
    recipient: AgentId | None = None
    """The agent it is for; None: the conversation's own (``desk_agent_id``)."""
    language: str = "en"
    """The tenant's language for agents' notices (``xmpp_bridge.i18n``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationUpdate:
    """One stored event of a conversation, for its agent; may turn into no stanza at all."""

    conversation: Conversation
    to: str
    event: StoredEvent
    delayed: bool = False
    recipient: AgentId | None = None
    """The agent it is for; None: the conversation's own (``desk_agent_id``). It is
    rendered for them: their own messages are not echoed, others' are named."""
    watching: bool = False
    """The recipient monitors the chat (or did when this happened): marked ``[monitor]``."""
    language: str = "en"
    """The tenant's language for agents' notices (``xmpp_bridge.i18n``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorTyping:
    conversation: Conversation
    to: str
    composing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DisplayedMarker:
    """XEP-0333 ``displayed`` from the conversation JID: the visitor has read the agent's
    message ``marked_id`` (their client's stanza id) and everything before it."""

    conversation: Conversation
    to: str
    marked_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TextReply:
    """A chat message from one of our JIDs (conversation, queue or engine) to someone."""

    sender: str
    to: str
    text: str
    stanza_id: str | None = None


class ErrorType(StrEnum):
    CANCEL = "cancel"
    MODIFY = "modify"
    AUTH = "auth"
    WAIT = "wait"


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorReply:
    """The stanza in ``origin`` bounced with an RFC 6120 stanza error."""

    origin: Origin
    condition: str
    type: ErrorType
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """XEP-0184 receipt for the message in ``origin``: it is stored."""

    origin: Origin
    stanza_id: str | None = None


class PresenceKind(StrEnum):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    SUBSCRIBE = "subscribe"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    PROBE = "probe"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuePresence:
    """A presence stanza from a queue JID to an agent's bare JID."""

    queue: QueueName
    to: str
    kind: PresenceKind


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationPresence:
    """Presence from a conversation JID to an agent, when no stored event of theirs
    brings it (``converters.presence``): an offer to them closed without them."""

    conversation: Conversation
    to: str
    available: bool


Outbound = (
    AgentOffer
    | ConversationUpdate
    | VisitorTyping
    | DisplayedMarker
    | TextReply
    | ErrorReply
    | Receipt
    | QueuePresence
    | ConversationPresence
)
