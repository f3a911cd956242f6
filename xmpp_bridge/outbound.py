"""Outbound: committed conversation events to the assigned agent's XMPP client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from business.conversation import Conversation
from business.events import ConversationEvent, DomainEvent, TypingChanged
from business.locks import KeyedLock
from business.model import ConversationId, ConversationState, ParticipantKind
from business.services import Services
from xmpp_bridge.converters import is_offer
from xmpp_bridge.custom import AgentOffer, ConversationUpdate, Outbound, VisitorTyping
from xmpp_bridge.link import Link

logger = logging.getLogger(__name__)


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
    """

    def __init__(
        self,
        *,
        services: Services,
        link: Link,
        flush_interval: float,
        confirm_timeout: float = 10.0,
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
        self._flusher: asyncio.Task[None] | None = None

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
            await self._deliver(conversation, stored, delayed=False)

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
            await self._deliver(delivery.conversation, delivery.events, delayed=True)

    def on_link_lost(self) -> None:
        self._unflushed.clear()
        self._sent.clear()
        self._finished.clear()

    def start(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="xmpp-delivery-cursors")

    async def stop(self) -> None:
        """Stop the background writer after a last flush: the pending cursors are
        written if the link is still up and the server answers its ping; otherwise they
        are dropped and the events replayed next time. Callable again (it then drops
        whatever was sent since)."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.flush()
        self._unflushed.clear()

    # -- delivery ---------------------------------------------------------------------

    async def _deliver(
        self, conversation: Conversation, events: Sequence[ConversationEvent], *, delayed: bool
    ) -> None:
        cid = conversation.id
        async with self._locks.hold(cid):
            generation = self._link.generation
            to = await self._address(conversation)
            if not self._link.connected or to is None:
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
                item = await self._outbound(conversation, to, event, late)
                if self._link.generation != generation or not self._link.send(item):
                    logger.info(
                        "link lost while sending conversation %s seq %d; it will be replayed",
                        cid,
                        seq,
                    )
                    return
                self._mark_sent(conversation, seq)

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
            if not await self._link.round_trip(self._confirm_timeout):
                if self._link.generation == generation and self._link.connected:
                    logger.warning(
                        "XMPP server did not answer a ping within %.0f s; reconnecting",
                        self._confirm_timeout,
                    )
                    self._link.abort()
                # Unconfirmed: the reconnect's replay sends these events again.
                return
            await self._write(batch)

    async def _write(self, batch: dict[ConversationId, int]) -> None:
        try:
            await self._services.delivery.mark_delivered_to_agents(batch)
        except Exception:
            logger.exception("could not store the delivery cursors of %d conversations", len(batch))
            for cid, seq in batch.items():
                self._unflushed[cid] = max(seq, self._unflushed.get(cid, 0))
            self._wake.set()
            return
        for cid in batch:
            if cid in self._finished and cid not in self._unflushed:
                # Ended and stored: nothing more will come, forget it.
                self._finished.discard(cid)
                self._sent.pop(cid, None)
