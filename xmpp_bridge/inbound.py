"""Inbound dispatch: what agents send turns into calls on the business services.

Errors are mapped once, at this edge (``at_the_edge``): a domain error becomes a stanza
error with a fitting RFC 6120 condition (so clients mark the message as failed) plus a
readable reply from the same JID (because many clients show stanza errors poorly).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from business.commands import EndConversationByAgent, SendAgentMessage, SetAgentTyping
from business.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    TooLarge,
    Unavailable,
)
from business.model import Agent, TenantId, new_id
from business.services import Services
from xmpp_bridge.converters import AGENT_HELP
from xmpp_bridge.custom import (
    AgentMessage,
    AgentTyping,
    Bounced,
    EndChat,
    EngineRequest,
    ErrorReply,
    ErrorType,
    Origin,
    Receipt,
    Received,
    ResourcePresence,
    ShowHelp,
    SubscriptionStanza,
    TextReply,
    UnknownCommand,
    Unroutable,
)
from xmpp_bridge.link import Link
from xmpp_bridge.roster import QueueRoster

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


class InboundDispatcher:
    """Handles one received stanza's meaning at a time (the caller keeps per-agent order)."""

    def __init__(
        self,
        *,
        services: Services,
        roster: QueueRoster,
        link: Link,
        tenant_id: TenantId,
        away_is_ready: bool,
    ) -> None:
        self._services = services
        self._roster = roster
        self._link = link
        self._tenant_id = tenant_id
        self._away_is_ready = away_is_ready

    @at_the_edge
    async def dispatch(self, received: Received) -> None:
        origin = received.origin
        match received.payload:
            case AgentMessage(conversation_id=cid, text=text, client_msg_id=client_msg_id):
                agent = await self._agent(origin)
                await self._services.messaging.send_agent_message(
                    SendAgentMessage(
                        agent_id=agent.id,
                        conversation_id=cid,
                        text=text,
                        client_msg_id=client_msg_id,
                    )
                )
                if origin.receipt_requested:
                    self._link.send(Receipt(origin=origin, stanza_id=new_id()))
            case AgentTyping(conversation_id=cid, composing=composing):
                agent = await self._agent(origin)
                await self._services.messaging.set_agent_typing(
                    SetAgentTyping(agent_id=agent.id, conversation_id=cid, composing=composing)
                )
            case EndChat(conversation_id=cid):
                # The notifier confirms: the end events reach the agent like any other.
                agent = await self._agent(origin)
                await self._services.conversations.end_by_agent(
                    EndConversationByAgent(agent_id=agent.id, conversation_id=cid)
                )
            case ShowHelp():
                self._reply(origin, AGENT_HELP)
            case UnknownCommand(command=command):
                self._reply(origin, f"Unknown command !{command}.\n{AGENT_HELP}")
            case EngineRequest() as request:
                await self._engine_request(origin, request)
            case ResourcePresence() as presence:
                await self._roster.handle_presence(presence)
            case SubscriptionStanza() as subscription:
                await self._roster.handle_subscription(subscription)
            case Bounced(condition=condition, text=text):
                logger.warning(
                    "%s to %s bounced from %s: %s %s",
                    origin.kind,
                    origin.sender,
                    origin.recipient,
                    condition,
                    text,
                )
            case Unroutable():
                self._link.send(
                    ErrorReply(
                        origin=origin,
                        condition="item-not-found",
                        type=ErrorType.CANCEL,
                        text="there is nothing at this address",
                    )
                )

    def refuse(self, received: Received, exc: DomainError | None) -> None:
        """Answer a stanza whose handling failed with ``exc`` (None: unexpected error)."""
        origin = received.origin
        payload = received.payload
        # Typing notifications and presence are fire-and-forget for clients: an answer
        # would only confuse them.
        if origin.kind != "message" or isinstance(payload, AgentTyping | Bounced):
            return
        condition, error_type = stanza_error_for(exc)
        reason = str(exc) if exc is not None else "something went wrong on our side"
        self._link.send(
            ErrorReply(origin=origin, condition=condition, type=error_type, text=reason)
        )
        match payload:
            case AgentMessage():
                text = f"Not delivered: {reason}."
            case EndChat():
                text = f"Could not end the chat: {reason}."
            case _:
                text = f"Sorry: {reason}."
        self._reply(origin, text)

    async def _engine_request(self, origin: Origin, request: EngineRequest) -> None:
        agent = await self._services.agents.find_agent(origin.address)
        if agent is None or agent.tenant_id != self._tenant_id:
            raise Forbidden("this service is for support agents")
        words = request.text.strip().lstrip("!").split(maxsplit=1)
        command = words[0].lower() if words else ""
        if command == "status":
            state = "ready" if agent.ready else "not ready"
            self._reply(
                origin,
                f"You are {state} for chats, up to {agent.max_chats} at a time, "
                f"in queues: {', '.join(agent.queues)}.",
            )
            return
        prefix = "" if command in ("help", "") else f"Unknown command {command!r}.\n"
        self._reply(origin, prefix + self._engine_help())

    def _engine_help(self) -> str:
        component = self._link.addressing.component_jid
        away = "ready too" if self._away_is_ready else "not ready"
        return (
            f"This is the chat engine. Chats come to you from addresses like "
            f"c-...@{component}: answer there (send !help in a chat for its commands).\n"
            f"Your status sets your availability: online or free for chat is ready, "
            f"away is {away}, extended away, do not disturb and offline are not ready.\n"
            f"Commands here: status, help."
        )

    def _reply(self, origin: Origin, text: str) -> None:
        self._link.send(
            TextReply(sender=origin.recipient, to=origin.address, text=text, stanza_id=new_id())
        )

    async def _agent(self, origin: Origin) -> Agent:
        """The agent who sent this; anybody else may not act in a conversation."""
        agent = await self._services.agents.find_agent(origin.address)
        if agent is None or agent.tenant_id != self._tenant_id:
            raise Forbidden("you are not the agent of this conversation")
        return agent
