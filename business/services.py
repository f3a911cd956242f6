"""Use cases. Each validates, changes state in one unit of work, commits, and only then
publishes events (and returns, so the caller acks only what is durable)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import re
import secrets
import uuid
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from business import commands as c
from business.errors import (
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    TooLarge,
)
from business.events import (
    ConversationEvent,
    MessagePosted,
    ParticipantLeft,
    StateChanged,
    TypingChanged,
)
from business.model import (
    DEFAULT_QUEUE,
    Agent,
    AgentId,
    AgentSubscription,
    Conversation,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorContext,
    VisitorId,
)
from business.ports import Clock, UnitOfWork, UnitOfWorkFactory
from business.publishing import EventPublisher
from business.routing import Router, SeqAllocator

logger = logging.getLogger(__name__)

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_CLIENT_MSG_ID_RE = re.compile(r"[\x21-\x7e]{1,100}")
_QUEUE_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# A bare JID: one '@', no resource, nothing RFC 7622 forbids in a localpart, no whitespace.
_BARE_JID_RE = re.compile(r"[^@/\s\"&'<>:]{1,1023}@[^@/\s]{1,1023}")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def hash_token(token: str) -> str:
    """Visitor tokens are bearer secrets: only their hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_text_length: int = 4000
    max_sync_events: int = 500
    max_form_fields: int = 20
    max_custom_fields: int = 50
    max_field_length: int = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationSummary:
    id: ConversationId
    state: ConversationState
    last_seq: int
    unread: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitorSession:
    tenant: Tenant
    visitor: Visitor
    visitor_token: str
    """The token to present next time; the same one the client sent, or a new one."""
    conversations: Sequence[ConversationSummary]
    is_new: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    events: Sequence[ConversationEvent]
    has_more: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingDelivery:
    """Events an agent has not been sent yet, oldest first."""

    conversation: Conversation
    events: Sequence[ConversationEvent]


# NUL, and surrogates that do not form a character: no database stores them (PostgreSQL
# rejects NUL, and neither can encode a lone surrogate as UTF-8), so they are refused here
# as bad input instead of failing later as an internal error.
_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def _check_storable(value: str, what: str) -> None:
    if _UNSTORABLE_RE.search(value):
        raise InvalidInput(f"{what} contains a NUL or an unpaired surrogate character")


def _check_text(text: str, limits: Limits, what: str = "text") -> str:
    _check_storable(text, what)
    if not text.strip():
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > limits.max_text_length:
        raise TooLarge(f"{what} is longer than {limits.max_text_length} characters")
    return text


def _check_fields(fields: Mapping[str, str], limit: int, limits: Limits, what: str) -> None:
    if len(fields) > limit:
        raise TooLarge(f"{what} has more than {limit} fields")
    for key, value in fields.items():
        if not key or len(key) > 100:
            raise InvalidInput(f"{what} field names must be 1 to 100 characters")
        _check_storable(key, f"{what} field name")
        _check_storable(value, f"{what}.{key}")
        if len(value) > limits.max_field_length:
            raise TooLarge(f"{what}.{key} is longer than {limits.max_field_length} characters")


def _check_context(context: VisitorContext, limits: Limits) -> None:
    for name in ("page_url", "page_title", "referrer"):
        value = getattr(context, name)
        if value is not None and len(value) > limits.max_field_length:
            raise TooLarge(f"context.{name} is longer than {limits.max_field_length} characters")
        if value is not None:
            _check_storable(value, f"context.{name}")
    _check_fields(context.custom, limits.max_custom_fields, limits, "context.custom")


def _visitor(conv: Conversation) -> Participant:
    return Participant(kind=ParticipantKind.VISITOR, name=conv.visitor_name, id=conv.visitor_id)


def _agent(conv: Conversation) -> Participant:
    return Participant(
        kind=ParticipantKind.AGENT, name=conv.agent_name or "Agent", id=conv.agent_id
    )


def _check_client_msg_id(client_msg_id: str) -> None:
    if not _CLIENT_MSG_ID_RE.fullmatch(client_msg_id):
        raise InvalidInput("client_msg_id must be 1 to 100 printable ASCII characters")


class ChatService:
    """Conversation use cases for visitors and agents."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        publisher: EventPublisher,
        router: Router,
        clock: Clock | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._uow = uow
        self._publisher = publisher
        self._router = router
        self._clock = clock or SystemClock()
        self.limits = limits or Limits()
        # A retried start often arrives while the first is still running (the widget timed
        # out): nothing in the database stops both from inserting a conversation, so starts
        # of one visitor take turns. Per process only; sticky sessions keep a visitor on one.
        self._start_locks: weakref.WeakValueDictionary[VisitorId, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    # -- visitor side ---------------------------------------------------------------

    async def open_session(self, cmd: c.OpenSession) -> VisitorSession:
        """Find the visitor by token, or create a new anonymous one.

        A well-formed token we do not know (expired, or the database was reset) gets a
        new visitor rather than an error, so a widget always recovers by itself.
        """
        token = cmd.visitor_token
        if token is not None and not _TOKEN_RE.fullmatch(token):
            raise InvalidInput("visitor_token is malformed")
        async with self._uow() as uow:
            tenant = await uow.tenants.get(cmd.tenant_id)
            if tenant is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            visitor = None
            if token is not None:
                visitor = await uow.visitors.get_by_token_hash(tenant.id, hash_token(token))
            is_new = visitor is None
            if visitor is None:
                token = secrets.token_urlsafe(32)
                visitor = Visitor(
                    id=VisitorId(new_id()), tenant_id=tenant.id, created_at=self._clock.now()
                )
                await uow.visitors.add(visitor, hash_token(token))
                await uow.commit()
            assert token is not None
            summaries = []
            # Every open conversation, plus the newest ended one so a reloaded widget can
            # still show how the last chat ended.
            shown_ended = False
            for conv in await uow.conversations.list_for_visitor(visitor.id):
                if not conv.is_open:
                    if shown_ended:
                        continue
                    shown_ended = True
                unread = await uow.events.count_messages_after(
                    conv.id, conv.visitor_read_seq, ParticipantKind.VISITOR.value
                )
                summaries.append(
                    ConversationSummary(
                        id=conv.id, state=conv.state, last_seq=conv.last_seq, unread=unread
                    )
                )
        return VisitorSession(
            tenant=tenant,
            visitor=visitor,
            visitor_token=token,
            conversations=summaries,
            is_new=is_new,
        )

    async def start_conversation(self, cmd: c.StartConversation) -> Conversation:
        """Open a conversation, or return the visitor's open one in that queue.

        Returning the open one makes a retried start harmless and keeps a visitor with
        several tabs in one chat, as visitors expect.
        """
        _check_fields(cmd.form, self.limits.max_form_fields, self.limits, "form")
        _check_context(cmd.context, self.limits)
        if cmd.message is not None:
            _check_client_msg_id(cmd.message.client_msg_id)
            _check_text(cmd.message.text, self.limits, "message.text")
        queue_name = cmd.queue or DEFAULT_QUEUE
        lock = self._start_locks.setdefault(cmd.visitor_id, asyncio.Lock())
        async with lock, self._uow() as uow:
            visitor = await uow.visitors.get(cmd.visitor_id)
            if visitor is None:
                raise NotFound("unknown visitor")
            queue = await uow.queues.get(visitor.tenant_id, queue_name)
            if queue is None:
                raise NotFound(f"unknown queue {queue_name!r}")
            for existing in await uow.conversations.list_for_visitor(visitor.id):
                if existing.is_open and existing.queue == queue.name:
                    break
            else:
                existing = None
            if existing is None:
                alloc = await self._create(uow, visitor, queue, cmd, self._clock.now())
        if existing is not None:
            if cmd.message is not None:
                await self.send_visitor_message(
                    c.SendVisitorMessage(
                        visitor_id=visitor.id,
                        conversation_id=existing.id,
                        client_msg_id=cmd.message.client_msg_id,
                        text=cmd.message.text,
                    )
                )
            return await self._get(existing.id)
        logger.info("conversation %s started in queue %s", alloc.conversation.id, queue.name)
        await self._publisher.publish(alloc.conversation, alloc.events)
        await self._router.dispatch(visitor.tenant_id, queue.name)
        return await self._get(alloc.conversation.id)

    async def _create(
        self,
        uow: UnitOfWork,
        visitor: Visitor,
        queue: Queue,
        cmd: c.StartConversation,
        now: datetime,
    ) -> SeqAllocator:
        position = len(await uow.conversations.list_queued(visitor.tenant_id, queue.name)) + 1
        name = (cmd.form.get("name") or "").strip() or visitor.name or f"Visitor {visitor.id[:4]}"
        alloc = SeqAllocator(
            Conversation(
                id=ConversationId(new_id()),
                tenant_id=visitor.tenant_id,
                visitor_id=visitor.id,
                visitor_name=name[:100],
                queue=queue.name,
                state=ConversationState.QUEUED,
                created_at=now,
                context=cmd.context,
                form=dict(cmd.form),
                queue_position=position,
            )
        )
        alloc.add(
            StateChanged(
                conversation_id=alloc.conversation.id,
                seq=alloc.next_seq(),
                created_at=now,
                state=ConversationState.QUEUED,
                queue_position=position,
            )
        )
        if cmd.message is not None:
            alloc.add(
                MessagePosted(
                    conversation_id=alloc.conversation.id,
                    seq=alloc.next_seq(),
                    created_at=now,
                    id=EventId(new_id()),
                    sender=_visitor(alloc.conversation),
                    text=cmd.message.text,
                    client_msg_id=cmd.message.client_msg_id,
                )
            )
        await alloc.store(uow, new=True)
        await uow.commit()
        return alloc

    async def send_visitor_message(self, cmd: c.SendVisitorMessage) -> MessagePosted:
        """Store a visitor message once; a retry with the same client_msg_id returns the
        stored message and publishes nothing."""
        _check_client_msg_id(cmd.client_msg_id)
        _check_text(cmd.text, self.limits)
        async with self._uow() as uow:
            conv = await self._visitor_conversation(uow, cmd.visitor_id, cmd.conversation_id)
            existing = await uow.events.get_message_by_client_id(conv.id, cmd.client_msg_id)
            if existing is not None:
                if existing.sender.kind is not ParticipantKind.VISITOR:
                    # The agent's client chose the same id: acking their message as this
                    # one would drop the visitor's text while claiming it was stored.
                    raise InvalidInput("client_msg_id is already used in this conversation")
                return existing
            if not conv.is_open:
                raise InvalidTransition("this conversation has ended")
            now = self._clock.now()
            alloc = SeqAllocator(conv)
            message = MessagePosted(
                conversation_id=conv.id,
                seq=alloc.next_seq(),
                created_at=now,
                id=EventId(new_id()),
                sender=_visitor(conv),
                text=cmd.text,
                client_msg_id=cmd.client_msg_id,
            )
            alloc.add(message)
            await alloc.store(uow)
            await uow.commit()
        await self._publisher.publish(alloc.conversation, alloc.events)
        return message

    async def set_visitor_typing(self, cmd: c.SetVisitorTyping) -> None:
        async with self._uow() as uow:
            conv = await self._visitor_conversation(
                uow, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
        if not conv.is_open:
            raise InvalidTransition("this conversation has ended")
        sender = _visitor(conv)
        await self._publisher.publish(
            conv, [TypingChanged(conversation_id=conv.id, sender=sender, composing=cmd.composing)]
        )

    async def mark_visitor_read(self, cmd: c.MarkVisitorRead) -> None:
        async with self._uow() as uow:
            conv = await self._visitor_conversation(
                uow, cmd.visitor_id, cmd.conversation_id, for_update=True
            )
            if cmd.seq < 0 or cmd.seq > conv.last_seq:
                raise InvalidInput(f"seq must be between 0 and {conv.last_seq}")
            if cmd.seq > conv.visitor_read_seq:
                await uow.conversations.save(dataclasses.replace(conv, visitor_read_seq=cmd.seq))
                await uow.commit()

    async def sync(self, cmd: c.SyncEvents) -> SyncResult:
        if cmd.after_seq < 0:
            raise InvalidInput("after_seq must not be negative")
        limit = self.limits.max_sync_events
        async with self._uow() as uow:
            conv = await self._visitor_conversation(
                uow, cmd.visitor_id, cmd.conversation_id, for_update=False
            )
            events = await uow.events.list_after(conv.id, cmd.after_seq, limit + 1)
        return SyncResult(events=events[:limit], has_more=len(events) > limit)

    async def update_context(self, cmd: c.UpdateContext) -> int:
        """Merge into the context of the visitor's open conversations; returns how many."""
        _check_context(cmd.context, self.limits)
        updated = 0
        async with self._uow() as uow:
            visitor = await uow.visitors.get(cmd.visitor_id)
            if visitor is None:
                raise NotFound("unknown visitor")
            for conv in await uow.conversations.list_for_visitor(visitor.id):
                if not conv.is_open:
                    continue
                locked = await uow.conversations.get(conv.id, for_update=True)
                assert locked is not None
                await uow.conversations.save(
                    dataclasses.replace(locked, context=locked.context.merged(cmd.context))
                )
                updated += 1
            await uow.commit()
        return updated

    async def end_by_visitor(self, cmd: c.EndConversationByVisitor) -> Conversation:
        """End the conversation; ending an ended one changes nothing."""
        async with self._uow() as uow:
            conv = await self._visitor_conversation(
                uow, cmd.visitor_id, cmd.conversation_id, for_update=True
            )
            if not conv.is_open:
                return conv
            who = _visitor(conv)
            alloc = await self._end(uow, conv, who)
        await self._after_end(conv, alloc)
        return alloc.conversation

    # -- agent side -----------------------------------------------------------------

    async def send_agent_message(self, cmd: c.SendAgentMessage) -> MessagePosted:
        _check_text(cmd.text, self.limits)
        if cmd.client_msg_id is not None:
            _check_client_msg_id(cmd.client_msg_id)
        async with self._uow() as uow:
            conv = await self._agent_conversation(uow, cmd.agent_id, cmd.conversation_id)
            client_msg_id = cmd.client_msg_id
            if client_msg_id is not None:
                existing = await uow.events.get_message_by_client_id(conv.id, client_msg_id)
                if existing is not None and existing.sender.id == cmd.agent_id:
                    return existing
                if existing is not None:
                    # Somebody else's message has this id (stanza ids are the agent
                    # client's choice): store this one without it rather than lose it.
                    client_msg_id = None
            if not conv.is_open:
                raise InvalidTransition("this conversation has ended")
            now = self._clock.now()
            alloc = SeqAllocator(conv)
            message = MessagePosted(
                conversation_id=conv.id,
                seq=alloc.next_seq(),
                created_at=now,
                id=EventId(new_id()),
                sender=_agent(conv),
                text=cmd.text,
                client_msg_id=client_msg_id,
            )
            alloc.add(message)
            # The agent wrote it, so the agent has it: no need to send it back to them.
            if conv.agent_delivered_seq == conv.last_seq:
                alloc.update(agent_delivered_seq=message.seq)
            await alloc.store(uow)
            await uow.commit()
        await self._publisher.publish(alloc.conversation, alloc.events)
        return message

    async def set_agent_typing(self, cmd: c.SetAgentTyping) -> None:
        async with self._uow() as uow:
            conv = await self._agent_conversation(
                uow, cmd.agent_id, cmd.conversation_id, lock=False
            )
        if not conv.is_open:
            return
        sender = _agent(conv)
        await self._publisher.publish(
            conv, [TypingChanged(conversation_id=conv.id, sender=sender, composing=cmd.composing)]
        )

    async def end_by_agent(self, cmd: c.EndConversationByAgent) -> Conversation:
        async with self._uow() as uow:
            conv = await self._agent_conversation(uow, cmd.agent_id, cmd.conversation_id)
            if not conv.is_open:
                raise InvalidTransition("this conversation has already ended")
            who = _agent(conv)
            alloc = await self._end(uow, conv, who)
        await self._after_end(conv, alloc)
        return alloc.conversation

    # -- delivery to agents ---------------------------------------------------------

    async def pending_agent_deliveries(self) -> Sequence[PendingDelivery]:
        """What the bridge has not handed to agents yet, e.g. while the XMPP link was down."""
        pending = []
        async with self._uow() as uow:
            for conv in await uow.conversations.list_undelivered_to_agents():
                events = await uow.events.list_after(
                    conv.id, conv.agent_delivered_seq, conv.last_seq - conv.agent_delivered_seq
                )
                pending.append(PendingDelivery(conversation=conv, events=events))
        return pending

    async def mark_delivered_to_agent(self, conversation_id: ConversationId, seq: int) -> None:
        async with self._uow() as uow:
            conv = await uow.conversations.get(conversation_id, for_update=True)
            if conv is None or seq <= conv.agent_delivered_seq:
                return
            await uow.conversations.save(
                dataclasses.replace(conv, agent_delivered_seq=min(seq, conv.last_seq))
            )
            await uow.commit()

    async def history(
        self, conversation_id: ConversationId, *, before_seq: int | None = None
    ) -> Sequence[ConversationEvent]:
        """Stored events of a conversation (for the agent's offer and transcripts)."""
        async with self._uow() as uow:
            conv = await uow.conversations.get(conversation_id)
            if conv is None:
                raise NotFound("unknown conversation")
            last = conv.last_seq if before_seq is None else min(conv.last_seq, before_seq - 1)
            return await uow.events.list_after(conversation_id, 0, max(last, 0))

    async def get_conversation(self, conversation_id: ConversationId) -> Conversation:
        return await self._get(conversation_id)

    # -- helpers --------------------------------------------------------------------

    async def _get(self, conversation_id: ConversationId) -> Conversation:
        async with self._uow() as uow:
            conv = await uow.conversations.get(conversation_id)
        if conv is None:
            raise NotFound("unknown conversation")
        return conv

    async def _visitor_conversation(
        self,
        uow: UnitOfWork,
        visitor_id: VisitorId,
        conversation_id: ConversationId,
        *,
        for_update: bool = True,
    ) -> Conversation:
        conv = await uow.conversations.get(conversation_id, for_update=for_update)
        if conv is None:
            raise NotFound("unknown conversation")
        if conv.visitor_id != visitor_id:
            raise Forbidden("this conversation belongs to another visitor")
        return conv

    async def _agent_conversation(
        self,
        uow: UnitOfWork,
        agent_id: AgentId,
        conversation_id: ConversationId,
        *,
        lock: bool = True,
    ) -> Conversation:
        conv = await uow.conversations.get(conversation_id, for_update=lock)
        if conv is None:
            raise NotFound("unknown conversation")
        if conv.agent_id != agent_id:
            raise Forbidden("you are not the agent of this conversation")
        return conv

    async def _end(self, uow: UnitOfWork, conv: Conversation, who: Participant) -> SeqAllocator:
        now = self._clock.now()
        alloc = SeqAllocator(conv.transition(ConversationState.ENDED, now))
        if conv.state is ConversationState.ACTIVE or who.kind is ParticipantKind.VISITOR:
            alloc.add(
                ParticipantLeft(
                    conversation_id=conv.id, seq=alloc.next_seq(), created_at=now, participant=who
                )
            )
        alloc.add(
            StateChanged(
                conversation_id=conv.id,
                seq=alloc.next_seq(),
                created_at=now,
                state=ConversationState.ENDED,
            )
        )
        await alloc.store(uow)
        await uow.commit()
        logger.info("conversation %s ended by %s", conv.id, who.kind)
        return alloc

    async def _after_end(self, before: Conversation, alloc: SeqAllocator) -> None:
        await self._publisher.publish(alloc.conversation, alloc.events)
        # Either a queue position was freed or an agent's slot was: let the queue move on,
        # and every other queue of that agent too, or their free slot would sit idle while
        # visitors wait there.
        queues = [before.queue]
        if before.state is ConversationState.ACTIVE and before.agent_id is not None:
            async with self._uow() as uow:
                agent = await uow.agents.get(before.agent_id)
            if agent is not None:
                queues += [q for q in agent.queues if q != before.queue]
        for queue in queues:
            await self._router.dispatch(before.tenant_id, queue)


class AgentService:
    """Agent directory, availability from presence, and XMPP subscription state."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        router: Router,
        clock: Clock | None = None,
    ) -> None:
        self._uow = uow
        self._router = router
        self._clock = clock or SystemClock()

    async def add_agent(self, cmd: c.AddAgent) -> Agent:
        """Create or update an agent; unknown queues are created on the way.

        The JID is stored lower-cased, so the same account given in another case updates
        the agent instead of adding a second one. An agent belongs to one tenant for good.
        Raising the capacity or adding a queue of a ready agent routes waiting chats.
        """
        if not 1 <= cmd.max_chats <= 100:
            raise InvalidInput("max_chats must be between 1 and 100")
        if not cmd.queues:
            raise InvalidInput("an agent needs at least one queue")
        for queue in cmd.queues:
            if not _QUEUE_NAME_RE.fullmatch(queue):
                raise InvalidInput(
                    f"queue name {queue!r} must be lower-case letters, digits, '.', '_' or '-'"
                )
            if queue.startswith("c-"):
                # c-<id>@chat.<domain> is a conversation's address; a queue there would
                # be unreachable for agents.
                raise InvalidInput(f"queue name {queue!r} must not start with 'c-'")
        if not _BARE_JID_RE.fullmatch(cmd.agent_id):
            raise InvalidInput(f"{cmd.agent_id!r} is not a bare JID (user@domain)")
        name = (cmd.name or "").strip()
        if len(name) > 100:
            raise InvalidInput("an agent name must be at most 100 characters")
        agent_id = AgentId(cmd.agent_id.lower())
        queues = tuple(dict.fromkeys(cmd.queues))
        async with self._router.tenant_lock(cmd.tenant_id), self._uow() as uow:
            tenant = await uow.tenants.get(cmd.tenant_id)
            if tenant is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            existing = await uow.agents.get(agent_id)
            if existing is not None and existing.tenant_id != tenant.id:
                raise InvalidInput(f"{agent_id} is an agent of another tenant")
            for queue in queues:
                if await uow.queues.get(tenant.id, queue) is None:
                    await uow.queues.add(
                        Queue(tenant_id=tenant.id, name=queue, title=queue.title())
                    )
            if existing is None:
                agent = Agent(
                    id=agent_id,
                    tenant_id=tenant.id,
                    name=name or cmd.agent_id.partition("@")[0],
                    max_chats=cmd.max_chats,
                    queues=queues,
                )
                await uow.agents.add(agent)
            else:
                agent = dataclasses.replace(
                    existing, name=name or existing.name, max_chats=cmd.max_chats, queues=queues
                )
                await uow.agents.save(agent)
            await uow.commit()
        if agent.ready:
            for queue in agent.queues:
                await self._router.dispatch(agent.tenant_id, queue)
        return agent

    async def list_agents(self, tenant_id: TenantId | None = None) -> Sequence[Agent]:
        async with self._uow() as uow:
            return await uow.agents.list(tenant_id)

    async def get_agent(self, agent_id: AgentId) -> Agent | None:
        async with self._uow() as uow:
            return await uow.agents.get(agent_id)

    async def set_availability(self, cmd: c.SetAgentAvailability) -> Agent | None:
        """Record whether an agent can take chats; becoming ready routes waiting chats.

        Returns None for a JID that is not a configured agent.
        """
        async with self._uow() as uow:
            agent = await uow.agents.get(cmd.agent_id)
        if agent is None:
            return None
        # Read again under the tenant lock: a dispatch running meanwhile saves the agent.
        async with self._router.tenant_lock(agent.tenant_id), self._uow() as uow:
            agent = await uow.agents.get(cmd.agent_id)
            if agent is None:
                return None
            if agent.ready == cmd.ready:
                return agent
            agent = dataclasses.replace(
                agent, ready=cmd.ready, ready_since=self._clock.now() if cmd.ready else None
            )
            await uow.agents.save(agent)
            await uow.commit()
        logger.info("agent %s is %s", agent.id, "ready" if agent.ready else "not ready")
        if agent.ready:
            for queue in agent.queues:
                await self._router.dispatch(agent.tenant_id, queue)
        return agent

    async def get_subscription(self, agent_id: AgentId, queue: QueueName) -> AgentSubscription:
        async with self._uow() as uow:
            found = await uow.agents.get_subscription(agent_id, queue)
        return found or AgentSubscription(agent_id=agent_id, queue=queue)

    async def save_subscription(self, subscription: AgentSubscription) -> None:
        async with self._uow() as uow:
            await uow.agents.save_subscription(subscription)
            await uow.commit()

    async def list_subscriptions(self) -> Sequence[AgentSubscription]:
        async with self._uow() as uow:
            return await uow.agents.list_subscriptions()


async def ensure_tenant(
    uow_factory: UnitOfWorkFactory,
    tenant_id: TenantId,
    *,
    name: str,
    queues: Sequence[QueueName] = (DEFAULT_QUEUE,),
    clock: Clock | None = None,
) -> Tenant:
    """Create the tenant and its queues if missing (used at start-up for the default)."""
    async with uow_factory() as uow:
        tenant = await uow.tenants.get(tenant_id)
        if tenant is None:
            tenant = Tenant(id=tenant_id, name=name, created_at=(clock or SystemClock()).now())
            await uow.tenants.add(tenant)
        for queue in queues:
            if await uow.queues.get(tenant_id, queue) is None:
                await uow.queues.add(Queue(tenant_id=tenant_id, name=queue, title=queue.title()))
        await uow.commit()
    return tenant
