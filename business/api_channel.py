"""The API channel: visitors on another messaging service (SMS, WhatsApp ...) that an
integrator bridges through their provider. Their messages come in by REST (``receive``);
what agents and bots write goes out by the webhooks every conversation has, which name
the channel, the provider and the visitor's address (``business.webhook_payloads``).
Everything else is the widget's path: the same start (routing, bot-first queues, offers,
reports), the same messages, the same desk.

Such a visitor is a visitor row like any other, one per tenant, provider and address.
Its credential slot holds a key made from those two (``api_visitor_key``) that no widget
token hashes to (``business.sessions.hash_token`` gives 64 hex digits, this key starts
with ``api:``), so no socket can ever log in as them, and the find-or-create rides on the
unique key the widget's logins use. They have no socket, and the engine ends no chat
when a socket goes (a disconnect only forgets the socket): their chat ends by an agent,
the integrator's end (``POST /conversations/{id}/end``) or a bot.

The provider's message id is the message's ``client_msg_id`` (prefixed, so it never
meets an agent client's id in the same conversation): a retry finds the message stored
the first time, in the open conversation or in the one that just ended.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from business import commands as c
from business.conversation import Conversation
from business.conversations import ConversationService
from business.email_addresses import check_email
from business.errors import Conflict, InvalidInput, InvalidTransition, NotFound, TooLarge
from business.events import MessagePosted
from business.locks import KeyedLock
from business.messaging import MessagingService
from business.model import (
    Channel,
    ParticipantKind,
    QueueName,
    TenantId,
    Visitor,
    VisitorId,
    new_id,
)
from business.ports import Clock
from business.transactions import Transactions
from business.validation import Limits, check_queue_name, check_storable, check_text

logger = logging.getLogger(__name__)

MAX_PROVIDER_LENGTH = 32
MAX_EXTERNAL_ID_LENGTH = 200
MAX_PROVIDER_MESSAGE_ID_LENGTH = 96
"""So that ``api:`` and the id make a ``client_msg_id`` (at most 100 characters)."""
MAX_NAME_LENGTH = 100
_CLIENT_ID_PREFIX = "api:"
_PROVIDER_RE = re.compile(r"[a-z0-9_-]{1,32}")
_PROVIDER_MESSAGE_ID_RE = re.compile(r"[\x20-\x7e]{1,96}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveApiMessage:
    """A visitor's message on another service, as the integrator's bridge hands it in."""

    tenant_id: TenantId
    queue: QueueName
    """Where a new conversation starts; a message to an open one goes there wherever it
    is now (an agent may have transferred it to another queue)."""
    external_id: str
    """The visitor's address on the service (a phone number ...)."""
    provider_message_id: str
    """The service's id of the message: the same id again is a retry."""
    text: str
    provider: str | None = None
    """The integrator's label of the service (``sms``, ``whatsapp`` ...)."""
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiMessageReceived:
    conversation: Conversation
    message: MessagePosted
    created: bool
    """False: the provider's message was stored before (a retry), nothing new was."""


def check_provider(value: str) -> str:
    if not _PROVIDER_RE.fullmatch(value):
        raise InvalidInput(
            f"provider must be 1 to {MAX_PROVIDER_LENGTH} lower-case letters, digits, '_' or '-'"
        )
    return value


def check_external_id(value: str) -> str:
    """The visitor's address: not blank, printable, at most 200 characters."""
    if not value.strip():
        raise InvalidInput("external_id must not be empty")
    if len(value) > MAX_EXTERNAL_ID_LENGTH:
        raise TooLarge(f"external_id is longer than {MAX_EXTERNAL_ID_LENGTH} characters")
    if not value.isprintable():
        raise InvalidInput("external_id must not contain control characters")
    return value


def check_provider_message_id(value: str) -> str:
    if not _PROVIDER_MESSAGE_ID_RE.fullmatch(value):
        raise InvalidInput(
            "provider_message_id must be 1 to "
            f"{MAX_PROVIDER_MESSAGE_ID_LENGTH} printable ASCII characters"
        )
    return value


def api_visitor_key(provider: str | None, external_id: str) -> str:
    """What an API visitor's credential slot holds: one per provider and address, and
    never the hash of a token (those are 64 hex digits)."""
    digest = hashlib.sha256(f"{provider or ''}\n{external_id}".encode()).hexdigest()
    return f"api:{digest}"


def client_msg_id(provider_message_id: str) -> str:
    return _CLIENT_ID_PREFIX + provider_message_id


def _from_visitor(event: object, visitor_id: VisitorId) -> bool:
    return (
        isinstance(event, MessagePosted)
        and event.sender.kind is ParticipantKind.VISITOR
        and event.sender.id == visitor_id
    )


class ApiChannelService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        conversations: ConversationService,
        messaging: MessagingService,
        clock: Clock,
        limits: Limits,
    ) -> None:
        self._tx = transactions
        self._conversations = conversations
        self._messaging = messaging
        self._clock = clock
        self._limits = limits
        self._receiving = KeyedLock()

    def check(self, cmd: ReceiveApiMessage) -> None:
        """Refuse bad input before anything is read or stored."""
        check_queue_name(cmd.queue)
        if cmd.provider is not None:
            check_provider(cmd.provider)
        check_external_id(cmd.external_id)
        check_storable(cmd.external_id, "external_id")
        check_provider_message_id(cmd.provider_message_id)
        check_text(cmd.text, self._limits)
        if cmd.name is not None:
            check_storable(cmd.name, "name")
            if len(cmd.name) > MAX_NAME_LENGTH:
                raise TooLarge(f"name is longer than {MAX_NAME_LENGTH} characters")
        if cmd.email is not None:
            check_email(cmd.email)

    async def receive(self, cmd: ReceiveApiMessage) -> ApiMessageReceived:
        """Store the visitor's message once: in their open conversation, else in a new
        one started in ``cmd.queue`` (routed, or with the queue's bot, as the widget's).

        A retry of a message already stored (the same ``provider_message_id``, in the
        open conversation or the newest ended one) returns it with ``created`` False.
        An address's messages go in one at a time in this process; two retries
        reaching two processes at the very same moment may both be answered as new,
        but the message is stored once.
        """
        self.check(cmd)
        # One message of an address at a time in this process: a burst's first messages
        # would otherwise both find no chat and both start one. (Across processes the
        # start still finds the address's open chat, but two starts at the very same
        # moment may each open one.)
        async with self._receiving.hold((cmd.tenant_id, cmd.provider, cmd.external_id)):
            return await self._receive(cmd)

    async def _receive(self, cmd: ReceiveApiMessage) -> ApiMessageReceived:
        visitor = await self._visitor(cmd)
        for _ in range(3):
            found = await self._find(visitor.id, client_msg_id(cmd.provider_message_id))
            if isinstance(found, ApiMessageReceived):
                return found
            if found is None:
                return await self._start(cmd, visitor)
            try:
                message = await self._messaging.send_visitor_message(
                    c.SendVisitorMessage(
                        visitor_id=visitor.id,
                        conversation_id=found.id,
                        client_msg_id=client_msg_id(cmd.provider_message_id),
                        text=cmd.text,
                    )
                )
            except InvalidTransition:
                continue  # it ended meanwhile: the message starts a new one
            conversation = await self._conversations.get_conversation(found.id)
            return ApiMessageReceived(conversation=conversation, message=message, created=True)
        raise Conflict("the conversation kept ending; please retry")

    async def _visitor(self, cmd: ReceiveApiMessage) -> Visitor:
        key = api_visitor_key(cmd.provider, cmd.external_id)
        async with self._tx.read() as tx:
            tenant = await tx.tenants.get(cmd.tenant_id)
            if tenant is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            visitor = await tx.visitors.get_by_token_hash(tenant.id, key)
        if visitor is not None:
            return visitor
        name = (cmd.name or "").strip()
        visitor = Visitor(
            id=VisitorId(new_id()),
            tenant_id=tenant.id,
            created_at=self._clock.now(),
            name=name[:MAX_NAME_LENGTH] or None,
        )
        try:
            async with self._tx() as tx:
                await tx.visitors.add(visitor, key)
                await tx.commit()
        except Conflict:
            # Another request of the same visitor created them meanwhile (another
            # process: the unique key refused this one): theirs is the one.
            found = await self._find_visitor(tenant.id, key)
            if found is None:
                raise
            return found
        return visitor

    async def _find_visitor(self, tenant_id: TenantId, key: str) -> Visitor | None:
        async with self._tx.read() as tx:
            return await tx.visitors.get_by_token_hash(tenant_id, key)

    async def _find(
        self, visitor_id: VisitorId, message_id: str
    ) -> ApiMessageReceived | Conversation | None:
        """The message if it is stored already; else the open conversation; else None."""
        async with self._tx.read() as tx:
            conversations = await tx.conversations.list_for_visitor(visitor_id, ended=1)
            for conversation in conversations:
                stored = await tx.events.get_message_by_client_id(conversation.id, message_id)
                if stored is None:
                    continue
                if not _from_visitor(stored, visitor_id):
                    # Not this visitor's message under their provider's id (integrators
                    # may not use the prefix, but never answer a retry with another's).
                    raise InvalidInput(
                        "provider_message_id is already used in this conversation by another sender"
                    )
                assert isinstance(stored, MessagePosted)
                return ApiMessageReceived(conversation=conversation, message=stored, created=False)
        return next((conv for conv in conversations if conv.is_open), None)

    async def _start(self, cmd: ReceiveApiMessage, visitor: Visitor) -> ApiMessageReceived:
        form = {}
        name = (cmd.name or "").strip() or visitor.name
        if name:
            form["name"] = name[:MAX_NAME_LENGTH]
        if cmd.email is not None:
            form["email"] = check_email(cmd.email)
        message_id = client_msg_id(cmd.provider_message_id)
        started = await self._conversations.start_conversation(
            c.StartConversation(
                visitor_id=visitor.id,
                queue=cmd.queue,
                form=form,
                message=c.FirstMessage(client_msg_id=message_id, text=cmd.text),
                channel=Channel.API,
                provider=cmd.provider,
                external_id=cmd.external_id,
            )
        )
        async with self._tx.read() as tx:
            stored = await tx.events.get_message_by_client_id(started.id, message_id)
        assert isinstance(stored, MessagePosted), "a start stores its first message"
        logger.info(
            "conversation %s: visitor on the API channel (%s) wrote first",
            started.id,
            cmd.provider or "no provider",
        )
        return ApiMessageReceived(conversation=started, message=stored, created=True)
