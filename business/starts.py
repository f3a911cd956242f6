"""Starting conversations, in batches: starts that arrive while one batch is stored go
together in the next, in one transaction with one read of the visitors, one of their
open conversations and one of each queue (group commit, as for messages)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from business import commands as c
from business.batching import Batcher, one_by_one
from business.conversation import Conversation
from business.delivery_ownership import DeliveryOwnership
from business.errors import InvalidInput, NotFound, QueueClosed, QueueFull
from business.events import MessagePosted
from business.identity_extra import extra_map, signed_context
from business.model import (
    DEFAULT_QUEUE,
    AgentId,
    Channel,
    ConversationId,
    ConversationState,
    EventId,
    Queue,
    QueueName,
    TenantId,
    Visitor,
    VisitorId,
    new_id,
)
from business.ports import Clock
from business.redaction_fields import field_redactor
from business.redaction_policy import RedactionPolicy
from business.threads import ThreadRefused, check_room_for_thread, flagged, is_messaging
from business.transactions import Transaction, Transactions
from business.validation import Limits

MAX_BATCH = 500
"""Starts stored in one transaction at most."""


@dataclasses.dataclass(frozen=True, slots=True)
class Started:
    conversation: Conversation
    existing: bool
    """The visitor's open conversation in that queue, returned as it was: nothing new
    was stored, not even the start's first message."""
    first_message: MessagePosted | None = None
    """The start's message as stored with a new conversation (for its bot to answer)."""


def waiting_limit(queue: Queue, limits: Limits) -> int:
    """How many conversations may wait in ``queue``: its own maximum, else the engine's."""
    return queue.max_waiting if queue.max_waiting is not None else limits.max_queue_waiting


def has_room(queue: Queue, limits: Limits) -> bool:
    """Whether one more conversation may enter ``queue`` to wait there."""
    return queue.waiting < waiting_limit(queue, limits)


_FULL = "queue {queue!r} is full; please try again in a few minutes"


def check_room(queue: Queue, limits: Limits) -> None:
    """Refuse (``QueueFull``, as a start is refused) unless ``queue`` has room for one
    more waiting conversation."""
    if not has_room(queue, limits):
        raise QueueFull(_FULL.format(queue=queue.name))


def check_open(queue: Queue, now: datetime) -> None:
    """Refuse (``QueueClosed``, saying when it opens next) unless ``queue`` is within its
    opening hours at ``now``; a queue without opening hours is always open."""
    hours = queue.opening_hours
    if hours is None or hours.is_open(now):
        return
    opens_at = hours.next_opening(now)
    when = (
        "it has no opening hours ahead"
        if opens_at is None
        else f"it opens at {opens_at.astimezone(hours.zone).isoformat(timespec='minutes')}"
    )
    raise QueueClosed(f"queue {queue.name!r} is closed now; {when}", opens_at=opens_at)


class Starter:
    """Opens conversations for ``StartConversation`` commands (validated already).

    A start of a visitor who has an open conversation in that queue returns it
    (``existing``), also when the other start is earlier in the same batch. A queue
    that holds its maximum of waiting conversations refuses (``QueueFull``), counting
    the ones this batch added; a queue with a bot never does: its chats start with the
    bot, in no queue (the bot's hand-over is refused instead, ``business.bots``).
    A queue outside its opening hours refuses every new start (``QueueClosed``, with or
    without a bot); a visitor's open conversation there is still returned, and chats that
    run or wait go on: closing stops new chats, not the ones agents still serve.
    Batches run one at a time, so two starts of one visitor never both open a
    conversation; across engine processes, a batch that may open one holds the queue's
    row before it reads the visitor's open conversations (``_start_together``).
    A batch that fails to commit is done again start by start, so one bad start never
    takes the others down.
    """

    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        limits: Limits,
        redaction: RedactionPolicy | None = None,
        ownership: DeliveryOwnership | None = None,
    ) -> None:
        self._tx = transactions
        self._ownership = ownership
        self._redaction = redaction or RedactionPolicy()
        self._clock = clock
        self._limits = limits
        self._batcher: Batcher[c.StartConversation, Started] = Batcher(
            self._start_batch, max_batch=MAX_BATCH
        )

    async def start(self, cmd: c.StartConversation) -> Started:
        return await self._batcher.submit(cmd)

    async def _start_batch(
        self, cmds: Sequence[c.StartConversation]
    ) -> Sequence[Started | BaseException]:
        try:
            return await self._start_together(cmds)
        except Exception:
            if len(cmds) == 1:
                raise
        return await one_by_one(cmds, self._start_alone)

    async def _start_alone(self, cmd: c.StartConversation) -> Started:
        (outcome,) = await self._start_together([cmd])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _start_together(
        self, cmds: Sequence[c.StartConversation]
    ) -> list[Started | BaseException]:
        outcomes: list[Started | BaseException] = []
        async with self._tx() as tx:
            visitor_ids = [cmd.visitor_id for cmd in cmds]
            visitors = await tx.visitors.get_many(visitor_ids)
            found = await _OpenConversations.read(tx, visitor_ids)
            queues: dict[tuple[TenantId, QueueName], Queue | None] = {}
            extra_maps: dict[TenantId, Mapping[str, str]] = {}
            opening = sorted(
                {
                    (visitor.tenant_id, cmd.queue or DEFAULT_QUEUE)
                    for cmd in cmds
                    if (visitor := visitors.get(cmd.visitor_id)) is not None
                    and found.returned(cmd) is None
                }
            )
            if opening:
                # Whatever may open a conversation holds its queue's row first, in one
                # order (no deadlock between two batches), then reads the visitors' open
                # conversations again: a start of the same visitor through another
                # engine (a signed identity on two devices) that held the lock has
                # committed by now, and a new statement sees it. Read before the lock
                # only, it would open a second conversation beside that one.
                for key in opening:
                    queues[key] = await tx.queues.get(*key, for_update=True)
                found = await _OpenConversations.read(tx, visitor_ids)
            open_now, open_any = found.open_now, found.open_any
            threads, all_open = found.threads, found.all_open
            applied = False
            for cmd in cmds:
                queue_name = cmd.queue or DEFAULT_QUEUE
                existing = found.returned(cmd)
                if existing is not None:
                    outcomes.append(Started(existing, existing=True))
                    continue
                if cmd.new_thread and cmd.message is not None:
                    # A retried new_thread start (its ack was lost): the thread its first
                    # message opened already, not another one.
                    retried = await _thread_of(
                        tx, all_open.get((cmd.visitor_id, queue_name), ()), cmd.message
                    )
                    if retried is not None:
                        outcomes.append(Started(retried, existing=True))
                        continue
                visitor = visitors.get(cmd.visitor_id)
                if visitor is None:
                    outcomes.append(NotFound("unknown visitor"))
                    continue
                key = (visitor.tenant_id, queue_name)
                if key not in queues:
                    queues[key] = await tx.queues.get(*key, for_update=True)
                queue = queues[key]
                if queue is None:
                    outcomes.append(NotFound(f"unknown queue {queue_name!r}"))
                    continue
                try:
                    check_open(queue, self._clock.now())
                    check_thread_start(cmd, queue, threads.get((cmd.visitor_id, queue_name), 0))
                except (QueueClosed, InvalidInput, ThreadRefused) as refused:
                    outcomes.append(refused)
                    continue
                if queue.bot is None and not has_room(queue, self._limits):
                    outcomes.append(QueueFull(_FULL.format(queue=queue.name)))
                    continue
                if queue.tenant_id not in extra_maps:
                    extra_maps[queue.tenant_id] = await extra_map(tx, queue.tenant_id)
                conv, first = await self._open(tx, cmd, queue, visitor, extra_maps[queue.tenant_id])
                if conv.state is not ConversationState.BOT:
                    queues[key] = dataclasses.replace(queue, waiting=queue.waiting + 1)
                open_now[(cmd.visitor_id, queue_name)] = conv
                open_any[cmd.visitor_id] = conv
                threads[(cmd.visitor_id, queue_name)] = (
                    threads.get((cmd.visitor_id, queue_name), 0) + 1
                )
                outcomes.append(Started(conv, existing=False, first_message=first))
                applied = True
            if applied:
                # This process delivers what it starts, from the commit that stores it
                # (``business.delivery_ownership``): no claim, no catch-up read.
                ownership = self._ownership
                if ownership is None:
                    await tx.commit()
                else:
                    owned = ownership.own_started(tx, _opened(outcomes))
                    await tx.commit()
                    ownership.adopt(owned)
        return outcomes

    async def _open(
        self,
        tx: Transaction,
        cmd: c.StartConversation,
        queue: Queue,
        visitor: Visitor,
        extra_fields: Mapping[str, str],
    ) -> tuple[Conversation, MessagePosted | None]:
        visitor_id = cmd.visitor_id
        conversation_id = ConversationId(new_id())
        redact = await field_redactor(self._redaction, tx, queue.tenant_id, conversation_id)
        form = redact.fields(cmd.form, "the pre-chat form")
        name = (form.get("name") or "").strip() or visitor.name or f"Visitor {visitor_id[:4]}"
        now = self._clock.now()
        first = None
        if cmd.message is not None:
            text = redact.text(cmd.message.text, "a message")
            first = (EventId(new_id()), cmd.message.client_msg_id, text)
        # The signed claims too: the tenant maps them to custom fields agents read.
        context = redact.context(await signed_context(tx, extra_fields, visitor_id, cmd.context))
        change = Conversation.open(
            id=conversation_id,
            tenant_id=queue.tenant_id,
            visitor_id=visitor_id,
            visitor_name=name[:100],
            queue=queue.name,
            position=queue.waiting + 1,
            now=now,
            context=flagged(context) if is_messaging(queue) else context,
            form=form,
            started_by=cmd.started_by,
            first_message=first,
            bot=queue.bot is not None,
            channel=cmd.channel,
            provider=cmd.provider,
            external_id=cmd.external_id,
        )
        preferred = last_agent(visitor, queue, now)
        if preferred is not None:
            change = dataclasses.replace(
                change,
                conversation=dataclasses.replace(change.conversation, preferred_agent_id=preferred),
            )
        message = change.events[-1] if first is not None else None
        assert message is None or isinstance(message, MessagePosted)
        return await tx.apply(change), message


@dataclasses.dataclass(slots=True)
class _OpenConversations:
    """The open conversations of a batch's visitors, as one read found them (and as the
    batch adds to them)."""

    open_now: dict[tuple[VisitorId, QueueName], Conversation]
    """The newest one the visitor may write to, per queue."""
    open_any: dict[VisitorId, Conversation]
    threads: dict[tuple[VisitorId, QueueName], int]
    """How many are open per queue (messaging queues keep several, ``business.threads``)."""
    all_open: dict[tuple[VisitorId, QueueName], list[Conversation]]

    @classmethod
    async def read(cls, tx: Transaction, visitor_ids: Sequence[VisitorId]) -> _OpenConversations:
        found = cls({}, {}, {}, {})
        for visitor_id, conversations in (
            await tx.conversations.open_for_visitors(visitor_ids)
        ).items():
            for conv in reversed(conversations):  # the newest wins
                key = (visitor_id, conv.queue)
                found.threads[key] = found.threads.get(key, 0) + 1
                found.all_open.setdefault(key, []).append(conv)
                if conv.locked:
                    continue  # read-only for the visitor: never what a start returns
                found.open_now[key] = conv
                found.open_any[visitor_id] = conv
        return found

    def returned(self, cmd: c.StartConversation) -> Conversation | None:
        """The open conversation ``cmd`` returns instead of opening one, if any."""
        if cmd.new_thread:
            return None
        if cmd.channel is Channel.API:
            # An address has one chat at a time, whichever queue its message names (a
            # widget visitor may have one per queue).
            return self.open_any.get(cmd.visitor_id)
        return self.open_now.get((cmd.visitor_id, cmd.queue or DEFAULT_QUEUE))


def _opened(outcomes: Sequence[Started | BaseException]) -> list[ConversationId]:
    return [o.conversation.id for o in outcomes if isinstance(o, Started) and not o.existing]


async def _thread_of(
    tx: Transaction, threads: Sequence[Conversation], message: c.FirstMessage
) -> Conversation | None:
    """The open thread whose messages include ``message`` (by its client id)."""
    for conv in threads:
        if await tx.events.get_message_by_client_id(conv.id, message.client_msg_id):
            return conv
    return None


def check_thread_start(cmd: c.StartConversation, queue: Queue, open_threads: int) -> None:
    """Refuse ``new_thread`` outside messaging queues, and a thread past the visitor's
    maximum of open ones in a messaging queue."""
    if not is_messaging(queue):
        if cmd.new_thread:
            raise InvalidInput(f"queue {queue.name!r} is not a messaging queue: no new_thread")
        return
    check_room_for_thread(open_threads)


def last_agent(visitor: Visitor, queue: Queue, now: datetime) -> AgentId | None:
    """The agent a returning visitor goes to first: the one who served them last, if that
    was within the queue's ``last_agent_window``."""
    window = queue.last_agent_window
    if not window or visitor.last_agent_id is None or visitor.last_served_at is None:
        return None
    if now - visitor.last_served_at > timedelta(seconds=window):
        return None
    return visitor.last_agent_id
