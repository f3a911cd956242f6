"""Outbound: committed conversation events to the assigned agent's XMPP client."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence

from business.conversation import Conversation
from business.events import DomainEvent, OfferClosed, OfferOutcome, StoredEvent, VisitorMoved
from business.locks import KeyedLock
from business.model import AgentId, ConversationId, MemberRole
from business.services import Services
from xmpp_bridge.concurrency import SerialLanes
from xmpp_bridge.cursors import DeliveryCursors, Key
from xmpp_bridge.i18n import TenantLanguages
from xmpp_bridge.link import Link
from xmpp_bridge.live_notices import AgentAddresses, LiveNotices
from xmpp_bridge.markers import Ephemeral, MarkerBook
from xmpp_bridge.outbound_retries import Retries
from xmpp_bridge.page_notices import PageNotices
from xmpp_bridge.parking import Refusals
from xmpp_bridge.relay import other_recipients, watches
from xmpp_bridge.retries import RetrySchedule
from xmpp_bridge.sending import EventSender

logger = logging.getLogger(__name__)


class XmppAgentNotifier(Retries):
    """Sends each stored event of a conversation to its agent once, in pos order.

    Implements ``business.ports.ConversationNotifier``. Invariants:

    - Publishing never waits for XMPP. Business transactions publish after commit,
      sometimes under the router's per-tenant lock and always before the visitor's ack,
      so ``notify`` only queues the work on the conversation's lane (``SerialLanes``:
      one conversation's deliveries in publishing order, conversations side by side)
      and returns; store reads, echoes and suspects going out alone happen there. The
      common case needs none of that and goes out at once, without a task
      (``_deliver_now``: nothing of the conversation pending, the next positions, plain
      events, the agent's address known); anything else takes the lane.
      Typing has a lane of its own and never waits behind a delivery, and so have the
      visitor's page moves (``xmpp_bridge.page_notices``, coalesced over
      ``page_notice_delay`` seconds). ``drain`` waits
      until the queued work is done.
    - Nothing is sent while the link is down, and nothing is lost: the delivery cursor
      (``Conversation.agent_delivered_pos``) only moves past what was handed to a live
      link, and ``replay`` sends everything after it on reconnect.
    - Per conversation, a high-water mark of what this link session sent makes live
      events and the replay meet without gaps or repeats: an event is sent only after
      every earlier pos, fetching from the store whatever this call was not given
      (replay not there yet, or two publishes overtaking each other). Work queued on
      one link session and run on another is left to that session's replay, which
      reads the store after the link came up.
    - Cursor writes are batched (``flush_interval``) and made only for what the server
      confirmed receiving (``xmpp_bridge.cursors``). An echo not back within
      ``confirm_timeout`` drops the link, and the unconfirmed events are sent again
      after reconnecting. A lost link can thus repeat up to a flush interval's worth of
      stanzas (plus the echo's time), never lose one.
    - One event the server will not take never blocks the others: it is parked (see
      ``xmpp_bridge.parking``), the agent gets a notice in its place, and the cursor
      moves past it (without a notice, logged, if the notice will not fit either).
      Events that were unconfirmed when the link dropped go out again with the rest;
      those unconfirmed at a second drop go out alone, so a third drop tells which one
      the server refused (a server restarting under load is not taken for a refusal).
    - A delivery that fails (the database hiccups reading history) is retried on its
      lane by a background loop with capped exponential backoff (``retry_min_delay`` to
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
        markers: MarkerBook | None = None,
        page_notice_delay: float = 2.0,
        claim: Callable[[Iterable[ConversationId]], Awaitable[set[ConversationId]]] | None = None,
        owns: Callable[[ConversationId], bool] | None = None,
    ) -> None:
        self._services = services
        # Several processes: only the conversations this one owns are replayed here
        # (``xmpp_bridge.ownership``); alone, all of them.
        self._claim = claim
        # Checked again right before sending: work queued while this process owned the
        # conversation may run after its lease lapsed and another process took over.
        self._owns = owns
        self._link = link
        self._markers = markers or MarkerBook()
        self._locks = KeyedLock()
        self._addresses = AgentAddresses(services.agents)
        self._notices = LiveNotices(link=link, addresses=self._addresses, markers=self._markers)
        # Agents' notices in the tenant's language, cached (not a read per message).
        languages = TenantLanguages(services.widget_configs.get)
        services.widget_configs.on_change(languages.forget)
        self._pages = PageNotices(
            link=link, addresses=self._addresses, delay=page_notice_delay, languages=languages
        )
        self._sent: dict[Key, int] = {}
        """Per agent and conversation: the newest pos this link session sent."""
        self._finished: set[Key] = set()
        self._refusals = Refusals()
        self._cursors = DeliveryCursors(
            delivery=services.delivery,
            link=link,
            refusals=self._refusals,
            flush_interval=flush_interval,
            confirm_timeout=confirm_timeout,
            on_stored=self._stored,
        )
        self._lanes = SerialLanes("xmpp-delivery")
        self._sender = EventSender(
            languages=languages,
            history=services.history,
            link=link,
            refusals=self._refusals,
            confirm=self._cursors.confirm,
            on_sent=self._markers.sent,
        )
        self._retries = RetrySchedule(min_delay=retry_min_delay, max_delay=retry_max_delay)
        self._retry_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- ConversationNotifier ---------------------------------------------------------

    async def notify(
        self, conversation: Conversation, events: Sequence[DomainEvent], *, send_stored: bool = True
    ) -> None:
        """Queue the events for the conversation's agent and return at once. Not
        ``send_stored``: only what goes out from any process (typing, page moves, an offer
        withdrawn); the stored events are another process's to send."""
        cid = conversation.id
        for event in events:
            if isinstance(event, OfferClosed) and event.outcome is not OfferOutcome.ACCEPTED:
                # The chat may have nobody to deliver to any more: told now or never.
                self._lanes.submit(
                    f"{cid}/offer",
                    functools.partial(self._notices.offer_closed, conversation, event),
                )
        stored: list[StoredEvent] = []
        for event in events:
            if isinstance(event, VisitorMoved):
                if self._pages.moved(conversation, event):
                    self._lanes.submit(f"{cid}/page", functools.partial(self._pages.flush, cid))
            elif isinstance(event, Ephemeral):
                if conversation.desk_agent_id is not None:
                    self._lanes.submit(
                        f"{cid}/typing",
                        functools.partial(self._notices.ephemeral, conversation, event),
                    )
            else:
                stored.append(event)
        if not send_stored:
            return
        self._markers.learn(stored)
        for member in other_recipients(conversation, stored) if stored else ():
            deliver = functools.partial(
                self._deliver_or_retry,
                conversation,
                stored,
                delayed=False,
                generation=self._link.generation,
                recipient=member,
            )
            self._lanes.submit(cid, deliver)
        if conversation.desk_agent_id is None:
            return
        if stored and not self._deliver_now(conversation, stored):
            deliver = functools.partial(
                self._deliver_or_retry,
                conversation,
                stored,
                delayed=False,
                generation=self._link.generation,
            )
            self._lanes.submit(cid, deliver)

    def _deliver_now(self, conversation: Conversation, events: Sequence[StoredEvent]) -> bool:
        """Deliver without a task when nothing can make it wait: no work of the
        conversation queued or running, the link up, the agent's address known, and the
        events the next ones in pos order, each plain (``EventSender.try_send``). False:
        the rest is for the conversation's lane (which starts after what was sent)."""
        cid = conversation.id
        if self._lanes.has_work(cid) or self._locks.busy(cid) or not self._link.connected:
            return False
        desk = conversation.desk_agent_id
        to = None if desk is None else self._addresses.known(desk)
        if to is None or desk is None:
            return False
        generation = self._link.generation
        sent = max(self._sent.get((cid, desk), 0), conversation.agent_delivered_pos)
        for event in sorted(events, key=lambda e: e.pos):
            if event.pos <= sent:
                continue
            if event.pos != sent + 1:
                return False  # a gap: the lane reads it from the store
            outcome = self._sender.try_send(conversation, to, event, generation)
            if outcome is None:
                return False
            if not outcome:
                logger.info(
                    "link lost while sending conversation %s pos %d; it will be replayed",
                    cid,
                    event.pos,
                )
                return True
            self._mark_sent(conversation, desk, event.pos)
            sent = event.pos
        if sent < conversation.last_pos:
            return False  # published out of order: the lane fills the gap
        self._retries.succeeded(cid)
        return True

    async def drain(self) -> None:
        """Return once the work queued so far (and meanwhile) is done: each event sent,
        parked, handed to the retry loop, or left to the replay of a new link session."""
        await self._lanes.drain()

    # -- link lifecycle -----------------------------------------------------------------

    async def replay(self) -> None:
        """Send everything agents have not been sent yet, oldest conversation first."""
        generation = self._link.generation
        # A cursor write still in flight from before the reconnect must land first, or
        # its events would be read as pending and sent twice.
        async with self._cursors.settled():
            # What this link session sent already waits only for its cursor: unread.
            pending = await self._services.delivery.pending_agent_deliveries(
                sent_up_to=lambda cid, agent: self._sent.get((cid, agent), 0)
            )
        if pending and self._claim is not None:
            mine = await self._claim({d.conversation.id for d in pending})
            pending = [d for d in pending if d.conversation.id in mine]
        if pending:
            logger.info("replaying undelivered events of %d conversations", len(pending))
        for delivery in pending:
            if self._link.generation != generation:
                return
            await self._deliver_or_retry(
                delivery.conversation,
                delivery.events,
                delayed=True,
                generation=generation,
                recipient=delivery.agent_id,
                watching=delivery.role is MemberRole.MONITOR,
            )

    def on_link_lost(self) -> None:
        for cid, pos in self._refusals.link_lost():
            logger.warning(
                "conversation %s: the XMPP server closed the link while pos %d was on its "
                "way, again; it is not sent to the agent any more",
                cid,
                pos,
            )
        self._cursors.forget()
        self._sent.clear()
        self._finished.clear()
        # The reconnect's replay sends whatever failed deliveries left behind.
        self._retries.clear()

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._cursors.run(), name="xmpp-delivery-cursors"),
                asyncio.create_task(self._retry_loop(), name="xmpp-delivery-retries"),
            ]

    async def stop(self) -> None:
        """Stop the background work after the queued deliveries and a last flush: the
        pending cursors are written if the link is still up and the server returns its
        echo; otherwise they are dropped and the events replayed next time. Callable
        again (it then drops whatever was sent since)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.drain()
        await self._cursors.flush()
        self._cursors.forget()

    async def flush(self) -> None:
        """Write the delivery cursors of what was sent and the server confirmed (what is
        still queued is not sent yet: ``drain`` first to include it)."""
        await self._cursors.flush()

    def delivery_lag(self) -> float:
        """Seconds the oldest delivery of this link session has waited for its cursor to
        be stored (``DeliveryCursors.lag``)."""
        return self._cursors.lag()

    # -- delivery ---------------------------------------------------------------------

    async def _deliver_or_retry(
        self,
        conversation: Conversation,
        events: Sequence[StoredEvent],
        *,
        delayed: bool,
        generation: int | None = None,
        recipient: AgentId | None = None,
        watching: bool = False,
    ) -> None:
        try:
            await self._deliver(
                conversation,
                events,
                delayed=delayed,
                generation=generation,
                recipient=recipient,
                watching=watching,
            )
        except Exception:
            # Without a retry the agent would get nothing until the conversation's next
            # event, while the visitor is told the chat is active.
            logger.exception(
                "could not deliver conversation %s to its agent; retrying in %.1f s",
                conversation.id,
                self._failed(conversation.id),
            )
        else:
            self._retries.succeeded(conversation.id)

    async def _deliver(
        self,
        conversation: Conversation,
        events: Sequence[StoredEvent],
        *,
        delayed: bool,
        generation: int | None,
        recipient: AgentId | None = None,
        watching: bool = False,
    ) -> None:
        """Send the conversation's events up to the last one known, in pos order, to
        its own agent or to the member ``recipient``.

        ``generation`` is the link session ``conversation`` and ``events`` were read in
        (None: the current one). Read in another, they may be older than what the
        current session's replay has sent, and that replay covers them anyway. A member
        who is not one any more gets only the events given (up to their leaving)."""
        cid = conversation.id
        me = recipient if recipient is not None else conversation.desk_agent_id
        if me is None:
            return
        async with self._locks.hold(cid):
            if generation is None:
                generation = self._link.generation
            if generation != self._link.generation or not self._link.connected:
                return
            if self._owns is not None and not self._owns(cid):
                return  # another process delivers it now
            to = await self._addresses.of(me)
            if to is None:
                return
            if recipient is None:
                start: int | None = conversation.agent_delivered_pos
            elif (cid, me) in self._sent:
                start = self._sent[(cid, me)]
            else:
                start = await self._services.delivery.member_cursor(cid, me)
            if start is None:
                return  # not a member (any more): nothing of theirs is pending
            sent = max(self._sent.get((cid, me), 0), start)
            todo: dict[int, tuple[StoredEvent, bool]] = {
                e.pos: (e, delayed) for e in events if e.pos > sent
            }
            current = recipient is None or conversation.member(recipient) is not None
            if recipient is not None:
                watching = watching or watches(conversation, events, recipient)
            last = max(conversation.last_pos if current else 0, max(todo, default=0))
            if any(pos not in todo for pos in range(sent + 1, last + 1)):
                for event in await self._services.history.history(cid, before_pos=last + 1):
                    if event.pos > sent and event.pos not in todo:
                        todo[event.pos] = (event, True)
            for pos in range(sent + 1, last + 1):
                if pos not in todo:
                    # Not committed yet: the publish that commits it sends it and the rest.
                    break
                if self._owns is not None and not self._owns(cid):
                    return  # the lease lapsed meanwhile
                event, late = todo[pos]
                if not await self._sender.send(
                    conversation, to, event, late, generation, recipient, watching
                ):
                    logger.info(
                        "link lost while sending conversation %s pos %d; it will be replayed",
                        cid,
                        pos,
                    )
                    return
                self._mark_sent(conversation, me, pos)

    def _mark_sent(self, conversation: Conversation, agent_id: AgentId, pos: int) -> None:
        key = (conversation.id, agent_id)
        self._sent[key] = pos
        self._cursors.sent(key, pos)
        if not conversation.is_open and pos >= conversation.last_pos:
            self._finished.add(key)

    def _stored(self, key: Key) -> None:
        if key in self._finished and not self._cursors.pending(key):
            # Ended and stored: nothing more will come, forget it.
            self._finished.discard(key)
            self._sent.pop(key, None)
