"""The bridge's inbound values for what agents type as commands: one value per command
of ``xmpp_bridge.agent_commands`` (``xmpp_bridge.custom`` re-exports them all and puts
them in its ``Payload``)."""

from __future__ import annotations

from dataclasses import dataclass

from business.model import ConversationId, QueueName


@dataclass(frozen=True, slots=True, kw_only=True)
class EndChat:
    """``!end [code] [text]`` in a conversation."""

    conversation_id: ConversationId
    wrap_up: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeOffer:
    """``!accept``: take the offered chat without writing anything yet."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class PassOffer:
    """``!decline``: pass the offered chat on."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferTo:
    """``!transfer <jid|queue> [note]``: hand the chat to that agent or queue."""

    conversation_id: ConversationId
    target: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class InviteTo:
    """``!invite <jid|queue> [note]``: a conference; the visitor sees them join."""

    conversation_id: ConversationId
    target: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsultWith:
    """``!consult <jid|queue> [note]``: a colleague joins where the visitor cannot see."""

    conversation_id: ConversationId
    target: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveChat:
    """``!leave``: an invited or consulted agent leaves; the chat goes on."""

    conversation_id: ConversationId


ColleagueCommand = TransferTo | InviteTo | ConsultWith | LeaveChat


@dataclass(frozen=True, slots=True, kw_only=True)
class WhisperText:
    """``!whisper <text>``: a supervisor's word to the agents in the chat."""

    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BargeIn:
    """``!barge``: a supervisor joins the chat, visibly to the visitor."""

    conversation_id: ConversationId


SupervisorCommand = WhisperText | BargeIn


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowInfo:
    """``!info``: who the visitor is and what the site told about them."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowHistory:
    """``!history [n]``: the visitor's earlier conversations, the last n messages of each."""

    conversation_id: ConversationId
    count: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UseCanned:
    """``!canned`` (list this queue's canned responses) or ``!canned <name>`` (send it)."""

    conversation_id: ConversationId
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteNote:
    """``!note <text>``: an internal note in the conversation."""

    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BackToBot:
    """``!bot``: send the visitor back to the queue's bot (``business.bots``)."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldChat:
    """``!hold``: park the chat until the visitor writes (``business.hold``)."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class UnholdChat:
    """``!unhold``: take the held chat back now."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class LockThread:
    """``!lock``: the visitor may only read the messaging thread (``business.threads``)."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class NewThread:
    """``!newthread <text>``: open another messaging thread to this chat's visitor
    (``business.outbound_threads``)."""

    conversation_id: ConversationId
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockThread:
    """``!unlock``: the visitor may write to the messaging thread again."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowHelp:
    """``!help`` in a conversation."""

    conversation_id: ConversationId


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownCommand:
    """A ``!word`` the bridge does not know; answered with the command list."""

    conversation_id: ConversationId
    command: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineHelp:
    """``help`` (or an empty command) to the engine itself or to a queue JID."""

    queue: QueueName | None = None
    """The queue JID it was sent to; None for the bare component JID."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineChats:
    """``chats`` to the engine: the agent's open chats with their conversation JIDs."""

    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineCapacity:
    """``max <n>`` to the engine: take up to n chats at a time."""

    count: str
    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineQueues:
    """``queues`` to the engine: waiting counts and longest waits of the agent's queues."""

    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineMonitor:
    """``monitor <conversation id|agent jid>`` to the engine (supervisors)."""

    target: str
    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineUnmonitor:
    """``unmonitor <conversation id|agent jid>`` to the engine (supervisors)."""

    target: str
    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStatus:
    """``status`` to the engine: the agent's own availability, capacity and queues."""

    queue: QueueName | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEngineCommand:
    """A word the engine does not know; answered with its help."""

    command: str
    queue: QueueName | None = None
