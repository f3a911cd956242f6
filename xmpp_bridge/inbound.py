"""Inbound dispatch: what agents send turns into calls on the business services.

Errors are mapped once, at this edge (``at_the_edge``): a domain error becomes a stanza
error with a fitting RFC 6120 condition (so clients mark the message as failed) plus a
readable reply from the same JID (because many clients show stanza errors poorly).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Hashable

from business.commands import (
    AcceptOffer,
    AddNote,
    DeclineOffer,
    EndConversationByAgent,
    SendAgentMessage,
    SetAgentTyping,
)
from business.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    TooLarge,
    Unavailable,
)
from business.model import Agent, new_id
from business.services import Services
from xmpp_bridge import desk_bots, desk_replies, desk_threads, texts
from xmpp_bridge.agent_commands import (
    AGENT_COMMANDS,
    Role,
    conversation_help,
    roles_here,
    roles_of,
)
from xmpp_bridge.converters import loggable
from xmpp_bridge.converters.inbound import client_msg_id_for
from xmpp_bridge.custom import (
    AgentMessage,
    AgentTyping,
    BackToBot,
    BargeIn,
    Bounced,
    ConsultWith,
    EndChat,
    ErrorReply,
    ErrorType,
    HoldChat,
    InviteTo,
    LeaveChat,
    LockThread,
    NewThread,
    Origin,
    Outbound,
    PassOffer,
    Payload,
    Receipt,
    Received,
    ResourcePresence,
    ShowHelp,
    ShowHistory,
    ShowInfo,
    SubscriptionStanza,
    TakeOffer,
    TextReply,
    TransferTo,
    UnholdChat,
    UnknownCommand,
    UnlockThread,
    Unroutable,
    UseCanned,
    WhisperText,
    WriteNote,
)
from xmpp_bridge.desk_colleagues import colleagues, supervise
from xmpp_bridge.engine_desk import EngineDesk
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.markers import MarkerBook
from xmpp_bridge.marks import AgentMarks, Mark, Quiet, mark_lane
from xmpp_bridge.roster import QueueRoster
from xmpp_bridge.tenancy import check_tenant

logger = logging.getLogger(__name__)

# Most specific first: TooLarge is an InvalidInput.
_CONDITIONS: tuple[tuple[type[DomainError], str, ErrorType], ...] = (
    (TooLarge, "not-acceptable", ErrorType.MODIFY),
    (InvalidInput, "bad-request", ErrorType.MODIFY),
    (NotFound, "item-not-found", ErrorType.CANCEL),
    (Forbidden, "forbidden", ErrorType.AUTH),
    (InvalidTransition, "not-allowed", ErrorType.CANCEL),
    (Unavailable, "internal-server-error", ErrorType.WAIT),
)
_UNEXPECTED = ("internal-server-error", ErrorType.CANCEL)
CONDITIONS = frozenset(condition for _, condition, _ in _CONDITIONS) | {_UNEXPECTED[0]}


def stanza_error_for(exc: BaseException | None) -> tuple[str, ErrorType]:
    """The RFC 6120 condition and type for a business error; unexpected ones are ours."""
    for kind, condition, error_type in _CONDITIONS:
        if isinstance(exc, kind):
            return condition, error_type
    return _UNEXPECTED


Handler = Callable[["InboundDispatcher", Received], Awaitable[None]]


def at_the_edge(handler: Handler) -> Handler:
    """Turn exceptions escaping ``handler`` into answers the agent understands.

    Domain errors are expected (an ended chat, somebody else's chat) and logged
    briefly; anything else is a bug, logged with its traceback and answered with
    ``internal-server-error``. Cancellation passes through.
    """

    @functools.wraps(handler)
    async def wrapper(self: InboundDispatcher, received: Received) -> None:
        try:
            await handler(self, received)
        except DomainError as exc:
            logger.info(
                "refused %s from %s to %s: %s",
                type(received.payload).__name__,
                received.origin.sender,
                received.origin.recipient,
                exc,
            )
            self.refuse(received, exc)
        except Exception:
            logger.exception(
                "failed to handle %s from %s to %s",
                type(received.payload).__name__,
                received.origin.sender,
                received.origin.recipient,
            )
            self.refuse(received, None)

    return wrapper


def lane_of(received: Received) -> Hashable:
    """What a received stanza must keep its order with: the agent's other stanzas to the
    same conversation (two quick messages get increasing seqs; a message typed after
    ``!end`` is refused), or, for everything not about one conversation (presence,
    subscriptions, engine commands), the agent's other such stanzas. One agent's
    conversations go side by side: a message waiting for its commit holds up nothing
    but its own conversation, so the agents' messages share group commits."""
    if (lane := mark_lane(received)) is not None:
        return lane
    match received.payload:
        case (
            AgentMessage(conversation_id=cid)
            | AgentTyping(conversation_id=cid)
            | EndChat(conversation_id=cid)
            | ShowHelp(conversation_id=cid)
            | UnknownCommand(conversation_id=cid)
            | WriteNote(conversation_id=cid)
            | UseCanned(conversation_id=cid)
            | TakeOffer(conversation_id=cid)
            | ShowInfo(conversation_id=cid)
            | ShowHistory(conversation_id=cid)
            | PassOffer(conversation_id=cid)
            | TransferTo(conversation_id=cid)
            | InviteTo(conversation_id=cid)
            | ConsultWith(conversation_id=cid)
            | LeaveChat(conversation_id=cid)
            | WhisperText(conversation_id=cid)
            | BargeIn(conversation_id=cid)
            | HoldChat(conversation_id=cid)
            | UnholdChat(conversation_id=cid)
            | LockThread(conversation_id=cid)
            | UnlockThread(conversation_id=cid)
            | NewThread(conversation_id=cid)
            | BackToBot(conversation_id=cid)
        ):
            return (received.origin.address, cid)
        case _:
            return received.origin.address


class InboundDispatcher:
    """Handles one received stanza's meaning at a time (the caller keeps the order of
    each ``lane_of``)."""

    def __init__(
        self,
        *,
        services: Services,
        roster: QueueRoster,
        link: Link,
        away_is_ready: bool,
        markers: MarkerBook | None = None,
    ) -> None:
        self._services = services
        self._marks = AgentMarks(services=services, link=link, markers=markers or MarkerBook())
        self._roster = roster
        self._link = link
        self._engine_desk = EngineDesk(
            services=services, addressing=link.addressing, away_is_ready=away_is_ready
        )

    @at_the_edge
    async def dispatch(self, received: Received) -> None:
        origin = received.origin
        if isinstance(received.payload, Mark):
            await self._marks.handle(origin, received.payload, self._agent)
            return
        match received.payload:
            case AgentMessage(conversation_id=cid, text=text, client_msg_id=client_msg_id):
                agent = await self._agent(origin, received.payload)
                # Files on the agent's server (XEP-0363) become the engine's own.
                urls, copied = await self._services.files.copy_agent_files(
                    cid,
                    received.payload.attachments,
                    agent_id=agent.id,
                    agent_address=agent.address,
                    client_msg_id=client_msg_id,
                )
                await self._services.messaging.send_agent_message(
                    SendAgentMessage(
                        agent_id=agent.id,
                        conversation_id=cid,
                        text=text,
                        client_msg_id=client_msg_id,
                        attachments=urls,
                        copied=copied,
                    )
                )
                if origin.receipt_requested:
                    self._send(Receipt(origin=origin, stanza_id=new_id()))
            case AgentTyping(conversation_id=cid, composing=composing):
                agent = await self._agent(origin, received.payload)
                await self._services.messaging.set_agent_typing(
                    SetAgentTyping(agent_id=agent.id, conversation_id=cid, composing=composing)
                )
            case EndChat(conversation_id=cid, wrap_up=wrap_up):
                # The notifier confirms: the end events reach the agent like any other.
                agent = await self._agent(origin, received.payload)
                await self._services.conversations.end_by_agent(
                    EndConversationByAgent(agent_id=agent.id, conversation_id=cid, wrap_up=wrap_up)
                )
            case WriteNote(conversation_id=cid, text=text):
                agent = await self._agent(origin, received.payload)
                if not text.strip():
                    self._reply(origin, texts.NOTE_EMPTY)
                    return
                await self._services.notes.add_note(
                    AddNote(agent_id=agent.id, conversation_id=cid, text=text)
                )
                self._reply(origin, texts.NOTE_SAVED)
            case TakeOffer(conversation_id=cid):
                agent = await self._agent(origin, received.payload)
                await self._services.offers.accept(
                    AcceptOffer(agent_id=agent.id, conversation_id=cid)
                )
                self._reply(origin, texts.OFFER_TAKEN)
            case PassOffer(conversation_id=cid):
                agent = await self._agent(origin, received.payload)
                await self._services.offers.decline(
                    DeclineOffer(agent_id=agent.id, conversation_id=cid)
                )
                self._reply(origin, texts.OFFER_DECLINED)
            case TransferTo() | InviteTo() | ConsultWith() | LeaveChat() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await colleagues(self._services, agent, command))
            case WhisperText() | BargeIn() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await supervise(self._services, agent, command))
            case UseCanned(conversation_id=cid, name=name):
                agent = await self._agent(origin, received.payload)
                stanza_id = origin.stanza_id
                client_msg_id = None if stanza_id is None else client_msg_id_for(stanza_id)
                answer = await desk_replies.canned(self._services, agent, cid, name, client_msg_id)
                if name and origin.receipt_requested:
                    self._send(Receipt(origin=origin, stanza_id=new_id()))
                self._reply(origin, answer)
            case ShowInfo(conversation_id=cid):
                agent = await self._agent(origin, received.payload)
                self._reply(origin, await desk_replies.info(self._services, agent, cid))
            case ShowHistory(conversation_id=cid, count=count):
                agent = await self._agent(origin, received.payload)
                answer = await desk_replies.history(self._services, agent, cid, count)
                self._reply(origin, answer)
            case HoldChat() | UnholdChat() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await desk_replies.hold(self._services, agent, command))
            case NewThread() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await desk_threads.new_thread(self._services, agent, command))
            case LockThread() | UnlockThread() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await desk_threads.lock(self._services, agent, command))
            case BackToBot() as command:
                agent = await self._agent(origin, command)
                self._reply(origin, await desk_bots.back_to_bot(self._services, agent, command))
            case ShowHelp():
                agent = await self._agent(origin, received.payload)
                roles = await self._roles_here(agent, received.payload)
                self._reply(origin, conversation_help(roles))
            case UnknownCommand(command=command):
                agent = await self._agent(origin, received.payload)
                help_text = conversation_help(await self._roles_here(agent, received.payload))
                self._reply(origin, f"{texts.unknown_command(command)}\n{help_text}")
            case payload if self._engine_desk.handles(payload):
                self._reply(origin, await self._engine_desk.answer(origin.address, payload))
            case ResourcePresence() as presence:
                await self._roster.handle_presence(presence)
            case SubscriptionStanza() as subscription:
                await self._roster.handle_subscription(subscription)
            case Bounced(condition=condition, text=text):
                # The text is whatever the agent's server wrote: one line, cut short.
                logger.warning(
                    "%s to %s bounced from %s: %s %s",
                    origin.kind,
                    origin.sender,
                    origin.recipient,
                    loggable(condition),
                    loggable(text),
                )
            case Unroutable():
                self._send(
                    ErrorReply(
                        origin=origin,
                        condition="item-not-found",
                        type=ErrorType.CANCEL,
                        text=texts.NOTHING_HERE,
                    )
                )

    def refuse(self, received: Received, exc: DomainError | None) -> None:
        """Answer a stanza whose handling failed with ``exc`` (None: unexpected error)."""
        origin = received.origin
        payload = received.payload
        # Typing notifications and presence are fire-and-forget for clients: an answer
        # would only confuse them.
        if origin.kind != "message" or isinstance(payload, AgentTyping | Bounced | Quiet):
            return
        condition, error_type = stanza_error_for(exc)
        reason = str(exc) if exc is not None else texts.SOMETHING_WENT_WRONG
        self._send(ErrorReply(origin=origin, condition=condition, type=error_type, text=reason))
        match payload:
            case AgentMessage():
                text = texts.not_delivered(reason)
            case EndChat():
                text = texts.could_not_end(reason)
            case _:
                text = texts.sorry(reason)
        self._reply(origin, text)

    def _send(self, item: Outbound) -> None:
        try:
            self._link.send(item)
        except StanzaTooLarge as exc:
            # Only an absurd address can make an answer too large (texts are cut to
            # fit); an answer is not worth the link.
            logger.warning("did not send a %s: %s", type(item).__name__, exc)

    def _reply(self, origin: Origin, text: str) -> None:
        self._send(
            TextReply(sender=origin.recipient, to=origin.address, text=text, stanza_id=new_id())
        )

    async def _agent(self, origin: Origin, payload: Payload) -> Agent:
        """The agent who sent this (of whichever tenant: their address decides), if a
        command, one they may use in this conversation; anybody else may not act in a
        conversation."""
        agent = await self._services.agents.find_agent(origin.address)
        if agent is None:
            raise Forbidden(texts.NOT_THE_AGENT)
        if AGENT_COMMANDS.makes(payload):
            # Commands only (text and typing need no read): what may be used here
            # depends on the agent's place in the conversation.
            reason = AGENT_COMMANDS.refusal(payload, await self._roles_here(agent, payload))
            if reason is not None:
                raise Forbidden(reason)
        return agent

    async def _roles_here(self, agent: Agent, payload: Payload) -> frozenset[Role]:
        cid = getattr(payload, "conversation_id", None)
        if cid is None:
            return roles_of(agent)
        conversation = await self._services.conversations.get_conversation(cid)
        check_tenant(agent, conversation)
        return roles_here(agent, conversation)
