"""Outbound: committed conversation events to the assigned agent's XMPP client."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Sequence

from business.conversation import Conversation
from business.errors import NotFound
from business.events import ConversationEvent, DomainEvent, TypingChanged
from business.locks import KeyedLock
from business.model import ConversationId, ConversationState, ParticipantKind
from business.services import Services
from xmpp_bridge import texts
from xmpp_bridge.converters import is_offer
from xmpp_bridge.custom import AgentOffer, ConversationUpdate, Outbound, TextReply, VisitorTyping
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.parking import Key, Refusals
from xmpp_bridge.retries import RetrySchedule

logger = logging.getLogger(__name__)


class _Sent(enum.Enum):
    OK = enum.auto()
    LOST = enum.auto()
    """The link is down or is not the session this delivery started on."""
    PARKED = enum.auto()
    """Refused before sending; a notice goes in its place."""


class XmppAgentNotifier:
    """Sends each stored event of a conversation to its agent once, in seq order.

    Implements ``business.ports.ConversationNotifier``. Invariants:

    - Nothing is sent while the link is down, and nothing is lost: the delivery cursor
      (``Conversation.agent_delivered_seq``) only moves past what was handed to a live
      link, and ``replay`` sends everything after it on reconnect.
    - Per conversation, a high-water mark of what this link session sent makes live
      events and the replay meet without gaps or repeats: an event is sent only after
      every earlier seq, fetching from the store whatever this call was not given
      (replay not there yet, or two publishes overtaking each other).
    - Cursor writes are batched (``flush_interval``) and made only for what the server
      confirmed receiving: a ping sent after the batch's stanzas must come back first
      (handing a stanza to a socket proves nothing; a silently dead connection swallows
      it). A ping left unanswered for ``confirm_timeout`` drops the link, and the
      unconfirmed events are sent again after reconnecting. A lost link can thus
      repeat up to a flush interval's worth of stanzas (plus the ping's time), never
      lose one.
    - One event the server will not take never blocks the others: it is parked (see
      ``xmpp_bridge.parking``), the agent gets a notice in its place, and the cursor
      moves past it. Events that were unconfirmed when the link dropped go out alone
      next time, so a second drop tells which one the server refused.
    - A delivery that fails (the database hiccups reading history) is retried by a
      background loop with capped exponential backoff (``retry_min_delay`` to
      ``retry_max_delay``), not left until the conversation's next event.
    """

    def __init__(
        self,
        *,
        services: Services,
        link: Link,
        flush_interval: float,
        confirm_timeout: float = 10.0,
        retry_min_delay: float = 1.0,
        retry_max_delay: float = 60.0,
    ) -> None:
        self._services = services
        self._link = link
        self._flush_interval = flush_interval
        self._confirm_timeout = confirm_timeout
        self._locks = KeyedLock()
        self._sent: dict[ConversationId, int] = {}
        self._finished: set[ConversationId] = set()
        self._unflushed: dict[ConversationId, int] = {}
        self._flush_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._refusals = Refusals()
        # Held while a suspect event is on its way alone; other events wait for it.
        self._alone = asyncio.Lock()
        self._retries = RetrySchedule(min_delay=retry_min_delay, max_delay=retry_max_delay)
        self._retry_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- ConversationNotifier ---------------------------------------------------------

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        if conversation.agent_id is None:
            return
        stored: list[ConversationEvent] = []
        for event in events:
            if isinstance(event, TypingChanged):
                await self._typing(conversation, event)
            else:
                stored.append(event)
        if stored:
            await self._deliver_or_retry(conversation, stored, delayed=False)

    async def _typing(self, conversation: Conversation, event: TypingChanged) -> None:
        # Typing is not stored: it goes out now or never, and the agent's own comes back
        # here too, which must not be echoed.
        if (
            event.sender.kind is ParticipantKind.VISITOR
            and conversation.state is ConversationState.ACTIVE
            and (to := await self._address(conversation)) is not None
        ):
            self._link.send(
                VisitorTyping(conversation=conversation, to=to, composing=event.composing)
            )

    async def _address(self, conversation: Conversation) -> str | None:
        """Where the conversation's agent is reached (None: no agent, or unknown)."""
        if conversation.agent_id is None:
            return None
        agent = await self._services.agents.get_agent(conversation.agent_id)
        return None if agent is None else agent.address

    # -- link lifecycle -----------------------------------------------------------------

    async def replay(self) -> None:
        """Send everything agents have not been sent yet, oldest conversation first."""
        generation = self._link.generation
        # A cursor write still in flight from before the reconnect must land first, or
        # its events would be read as pending and sent twice.
        async with self._flush_lock:
            pending = await self._services.delivery.pending_agent_deliveries()
        if pending:
            logger.info("replaying undelivered events of %d conversations", len(pending))
        for delivery in pending:
            if self._link.generation != generation:
                return
            await self._deliver_or_retry(delivery.conversation, delivery.events, delayed=True)

    def on_link_lost(self) -> None:
        for cid, seq in self._refusals.link_lost():
            logger.warning(
                "conversation %s: the XMPP server closed the link while seq %d was on its "
                "way, again; it is not sent to the agent any more",
                cid,
                seq,
            )
        self._unflushed.clear()
        self._sent.clear()
        self._finished.clear()
        # The reconnect's replay sends whatever failed deliveries left behind.
        self._retries.clear()

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._flush_loop(), name="xmpp-delivery-cursors"),
                asyncio.create_task(self._retry_loop(), name="xmpp-delivery-retries"),
            ]

    async def stop(self) -> None:
        """Stop the background work after a last flush: the pending cursors are
        written if the link is still up and the server answers its ping; otherwise they
        are dropped and the events replayed next time. Callable again (it then drops
        whatever was sent since)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
        self._unflushed.clear()

    # -- delivery ---------------------------------------------------------------------

    async def _deliver_or_retry(
        self, conversation: Conversation, events: Sequence[ConversationEvent], *, delayed: bool
    ) -> None:
        try:
            await self._deliver(conversation, events, delayed=delayed)
        except Exception:
            # Without a retry the agent would get nothing until the conversation's next
            # event, while the visitor is told the chat is active.
            due = self._retries.failed(conversation.id, asyncio.get_running_loop().time())
            logger.exception(
                "could not deliver conversation %s to its agent; retrying in %.1f s",
                conversation.id,
                due - asyncio.get_running_loop().time(),
            )
            self._retry_wake.set()
        else:
            self._retries.succeeded(conversation.id)

    async def _deliver(
        self, conversation: Conversation, events: Sequence[ConversationEvent], *, delayed: bool
    ) -> None:
        cid = conversation.id
        async with self._locks.hold(cid):
            generation = self._link.generation
            if not self._link.connected:
                return
            to = await self._address(conversation)
            if to is None:
                return
            sent = max(self._sent.get(cid, 0), conversation.agent_delivered_seq)
            todo: dict[int, tuple[ConversationEvent, bool]] = {
                e.seq: (e, delayed) for e in events if e.seq > sent
            }
            last = max(conversation.last_seq, max(todo, default=0))
            if any(seq not in todo for seq in range(sent + 1, last + 1)):
                for event in await self._services.history.history(cid, before_seq=last + 1):
                    if event.seq > sent and event.seq not in todo:
                        todo[event.seq] = (event, True)
            for seq in range(sent + 1, last + 1):
                if seq not in todo:
                    # Not committed yet: the publish that commits it sends it and the rest.
                    break
                event, late = todo[seq]
                if not await self._send_event(conversation, to, event, late, generation):
                    logger.info(
                        "link lost while sending conversation %s seq %d; it will be replayed",
                        cid,
                        seq,
                    )
                    return
                self._mark_sent(conversation, seq)

    async def _send_event(
        self,
        conversation: Conversation,
        to: str,
        event: ConversationEvent,
        late: bool,
        generation: int,
    ) -> bool:
        """Send one event, or a notice in its place if it is parked; False if the link
        is gone (nothing is then known to have arrived)."""
        key = (conversation.id, event.seq)
        reason = self._refusals.parked(key)
        if reason is None:
            item = await self._outbound(conversation, to, event, late)
            if self._refusals.is_suspect(key):
                outcome = await self._send_alone(key, item, generation)
            else:
                if self._alone.locked():
                    # A suspect is on its way alone: nothing else may be unconfirmed
                    # with it, or a drop would not tell which stanza caused it.
                    async with self._alone:
                        pass
                outcome = self._send(key, item, generation)
            if outcome is not _Sent.PARKED:
                return outcome is _Sent.OK
            reason = texts.TOO_LARGE_FOR_THE_SERVER
        if self._link.generation != generation:
            return False
        return self._link.send(
            TextReply(
                sender=self._link.addressing.conversation_jid(conversation.id),
                to=to,
                text=texts.undeliverable(reason),
                stanza_id=f"{conversation.id}-{event.seq}-undelivered",
            )
        )

    def _send(self, key: Key, item: Outbound, generation: int) -> _Sent:
        if self._link.generation != generation:
            return _Sent.LOST
        try:
            if not self._link.send(item):
                return _Sent.LOST
        except StanzaTooLarge as exc:
            self._refusals.park(key, texts.TOO_LARGE_FOR_THE_SERVER)
            logger.warning(
                "conversation %s: seq %d cannot be sent to the agent (%s); parked",
                key[0],
                key[1],
                exc,
            )
            return _Sent.PARKED
        self._refusals.sent(key)
        return _Sent.OK

    async def _send_alone(self, key: Key, item: Outbound, generation: int) -> _Sent:
        """Send a suspect with nothing else unconfirmed around it: if the link drops
        before the ping after it comes back, it was in flight alone."""
        async with self._alone:
            if self._refusals.unconfirmed and not await self._confirm(generation):
                return _Sent.LOST
            outcome = self._send(key, item, generation)
            if outcome is _Sent.OK and not await self._confirm(generation):
                return _Sent.LOST
            return outcome

    async def _outbound(
        self, conversation: Conversation, to: str, event: ConversationEvent, late: bool
    ) -> Outbound:
        if is_offer(event, conversation):
            earlier = await self._services.history.history(conversation.id, before_seq=event.seq)
            return AgentOffer(
                conversation=conversation, to=to, joined=event, earlier=earlier, delayed=late
            )
        return ConversationUpdate(conversation=conversation, to=to, event=event, delayed=late)

    def _mark_sent(self, conversation: Conversation, seq: int) -> None:
        self._sent[conversation.id] = seq
        self._unflushed[conversation.id] = seq
        if not conversation.is_open and seq >= conversation.last_seq:
            self._finished.add(conversation.id)
        self._wake.set()

    # -- retries ------------------------------------------------------------------------

    async def _retry_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._retry_wake.clear()
            due = self._retries.next_due()
            if due is None or due > loop.time():
                # A new failure may be due sooner: it wakes this up to look again.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(due):
                        await self._retry_wake.wait()
                continue
            for cid in self._retries.take_due(loop.time()):
                await self._retry(cid)

    async def _retry(self, cid: ConversationId) -> None:
        try:
            conversation = await self._services.conversations.get_conversation(cid)
        except NotFound:
            self._retries.succeeded(cid)
            return
        except Exception:
            due = self._retries.failed(cid, asyncio.get_running_loop().time())
            logger.warning(
                "could not read conversation %s to retry its delivery; next try in %.1f s",
                cid,
                due - asyncio.get_running_loop().time(),
                exc_info=True,
            )
            return
        await self._deliver_or_retry(conversation, (), delayed=True)

    # -- delivery cursors -------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._flush_interval)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write the delivery cursors of what the server confirmed receiving."""
        async with self._flush_lock:
            if not self._unflushed:
                return
            generation = self._link.generation
            # Taken before the ping goes out: exactly these stanzas precede it.
            batch, self._unflushed = self._unflushed, {}
            if not await self._confirm(generation):
                # Unconfirmed: the reconnect's replay sends these events again.
                return
            await self._write(batch)

    async def _confirm(self, generation: int) -> bool:
        """Whether the server confirmed receiving everything sent before on this link
        session; a server that does not answer in time gets the link dropped."""
        mark = self._refusals.mark()
        if await self._link.round_trip(self._confirm_timeout):
            if self._link.generation != generation:
                return False
            self._refusals.confirmed(mark)
            return True
        if self._link.generation == generation and self._link.connected:
            logger.warning(
                "XMPP server did not answer a ping within %.0f s; reconnecting",
                self._confirm_timeout,
            )
            # A silent server refused nothing in particular: this drop parks nothing.
            self._refusals.abandoned()
            self._link.abort()
        return False

    async def _write(self, batch: dict[ConversationId, int]) -> None:
        try:
            await self._services.delivery.mark_delivered_to_agents(batch)
        except Exception:
            logger.exception("could not store the delivery cursors of %d conversations", len(batch))
            for cid, seq in batch.items():
                self._unflushed[cid] = max(seq, self._unflushed.get(cid, 0))
            self._wake.set()
            return
        for cid, seq in batch.items():
            self._refusals.delivered(cid, seq)
            if cid in self._finished and cid not in self._unflushed:
                # Ended and stored: nothing more will come, forget it.
                self._finished.discard(cid)
                self._sent.pop(cid, None)
