"""Delivery cursors: moved only for what the XMPP server confirmed receiving, in batches."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from business.delivery import DeliveryService, Recipient
from business.model import AgentId, ConversationId
from xmpp_bridge.link import Link
from xmpp_bridge.parking import Refusals

logger = logging.getLogger(__name__)

Key = tuple[ConversationId, AgentId]
"""One agent's delivery in one conversation."""

AIM = 0.9
"""A flush aims to store a send's cursor this share of ``flush_interval`` after the send:
a busy event loop wakes its wait a little late (20 to 40 ms at 100 visitors,
``bench.roundtrip``), and the cursors should trail by no more than the interval."""


class DeliveryCursors:
    """The ``agent_delivered_pos`` cursors of ``XmppAgentNotifier``, and the echoes that
    justify moving them.

    ``sent`` records what was handed to the link; ``flush`` (every ``flush_interval``
    from ``run``) takes that batch, sends an echo after it (``xmpp_bridge.echoes``), and
    writes the batch only once the server returned it: handing a stanza to a socket
    proves nothing, a silently dead connection swallows it. An echo not back within
    ``confirm_timeout`` drops the link (the unconfirmed events are replayed after
    reconnecting). Every confirmation is also reported to ``refusals``, and every stored
    cursor to ``refusals`` and to ``on_stored``.
    """

    def __init__(
        self,
        *,
        delivery: DeliveryService,
        link: Link,
        refusals: Refusals,
        flush_interval: float,
        confirm_timeout: float,
        on_stored: Callable[[Key], None],
    ) -> None:
        self._delivery = delivery
        self._link = link
        self._refusals = refusals
        self._flush_interval = flush_interval
        self._confirm_timeout = confirm_timeout
        self._on_stored = on_stored
        self._unflushed: dict[Key, int] = {}
        # When the oldest send of ``_unflushed`` was made, and of the batch being
        # confirmed and written (monotonic seconds): what ``lag`` reports.
        self._unflushed_since: float | None = None
        self._in_flight_since: float | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def sent(self, key: Key, pos: int) -> None:
        """Everything of the conversation up to ``pos`` was handed to the link for the
        agent ``key`` names."""
        if self._unflushed_since is None:
            self._unflushed_since = time.monotonic()
        self._unflushed[key] = pos
        self._wake.set()

    def lag(self) -> float:
        """Seconds the oldest send of this link session has waited for its cursor to be
        stored (confirmed by the server, then written); 0 when nothing waits. What a
        dropped link took along is not counted: it is replayed after the reconnect."""
        waiting = [t for t in (self._unflushed_since, self._in_flight_since) if t is not None]
        return max(0.0, time.monotonic() - min(waiting)) if waiting else 0.0

    def pending(self, key: Key) -> bool:
        """Whether this agent's cursor of the conversation is still to be written."""
        return key in self._unflushed

    def forget(self) -> None:
        """Drop the unwritten cursors (the link is gone: their events are replayed)."""
        self._unflushed.clear()
        self._unflushed_since = None

    @asynccontextmanager
    async def settled(self) -> AsyncIterator[None]:
        """No cursor write is in flight meanwhile (a replay reading what is pending must
        not read a cursor that is about to move, or it would send those events twice)."""
        async with self._lock:
            yield

    async def run(self) -> None:
        """Flush so that a send's cursor is stored within ``flush_interval`` after it
        was made, for ever. A flush takes time of its own (the server's echo queues
        behind everything sent before it, then the write): so it starts ``AIM`` of an
        interval after the first unwritten send (or after the flush before started, if
        later) less the longest of the last few flushes that wrote, and never sooner
        than half an interval after the flush before started (at most twice as many
        flushes as one an interval; flushes slower than half an interval leave the
        cursors trailing by about twice their time). The wait counts from the
        first send, not from the end of the flush before: under steady load sends made
        during a flush would otherwise wait for it and a whole interval more. A failed
        write puts its sends back with their time: the flush before bounds its retries
        (found in review: they ran back to back)."""
        interval = self._flush_interval
        last_start = -math.inf
        recent: deque[float] = deque(maxlen=5)  # how long the last flushes took
        while True:
            await self._wake.wait()
            now = time.monotonic()
            since = self._unflushed_since
            took = max(recent, default=0.0)
            due = max(now if since is None else since, last_start) + interval * AIM - took
            due = max(due, last_start + interval / 2)
            await asyncio.sleep(max(0.0, due - now))
            last_start = time.monotonic()
            self._wake.clear()
            if await self.flush():
                # Only flushes that wrote: a failing or unconfirmed one (which may wait
                # long for its echo) must not pull the next ones, or their retries, in.
                recent.append(time.monotonic() - last_start)

    async def flush(self) -> bool:
        """Write the delivery cursors of what the server confirmed receiving; whether a
        batch was confirmed and written."""
        async with self._lock:
            if not self._unflushed:
                return False
            generation = self._link.generation
            # Taken before the echo goes out: exactly these stanzas precede it.
            batch, self._unflushed = self._unflushed, {}
            self._in_flight_since, self._unflushed_since = self._unflushed_since, None
            try:
                if not await self.confirm(generation):
                    # Unconfirmed: the reconnect's replay sends these events again.
                    return False
                return await self._write(batch)
            except asyncio.CancelledError:
                # Stopped meanwhile (``XmppAgentNotifier.stop`` cancels the flush loop,
                # then flushes once more): that last flush takes these too, instead of
                # leaving them to be sent again next time. Cursors only move forward,
                # so writing one twice is harmless. Not across link sessions: what a lost
                # link took along is replayed.
                if self._link.generation == generation:
                    self._put_back(batch, self._in_flight_since)
                raise
            finally:
                self._in_flight_since = None

    async def confirm(self, generation: int) -> bool:
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
                "XMPP server did not answer a ping within %.0f s (or kept sending for "
                "longer but still did not answer); reconnecting",
                self._confirm_timeout,
            )
            # A silent server refused nothing in particular: this drop parks nothing.
            self._refusals.abandoned()
            self._link.abort()
        return False

    async def _write(self, batch: dict[Key, int]) -> bool:
        since = self._in_flight_since
        try:
            cursors: dict[Recipient, int] = {}
            for key, pos in batch.items():
                cursors[key] = pos
            await self._delivery.mark_delivered(cursors)
        except Exception:
            logger.exception("could not store the delivery cursors of %d conversations", len(batch))
            self._put_back(batch, since)
            return False
        for key, pos in batch.items():
            self._refusals.delivered(key[0], pos)
            self._on_stored(key)
        return True

    def _put_back(self, batch: dict[Key, int], since: float | None) -> None:
        """``batch`` is unwritten again, waiting since ``since`` (when it was first sent)."""
        for key, pos in batch.items():
            self._unflushed[key] = max(pos, self._unflushed.get(key, 0))
        if since is not None:
            later = self._unflushed_since
            self._unflushed_since = since if later is None else min(since, later)
        self._wake.set()
