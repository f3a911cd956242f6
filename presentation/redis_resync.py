"""Visitors whose live events were lost while Redis was down learn it once it is back.

With Redis as python-socketio's message queue, an event stored and published by one
engine process reaches the visitor sockets of the others through Redis only. While
Redis is down (or this process's subscription to it is), those publishes are lost; the
events are stored, and a widget fetches them with ``sync`` when it sees a gap in the
seqs, but a chat that goes quiet afterwards shows no gap until its next event.

So each time this process's subscription is established again, and each time another
process asks (after some of its publishes failed, once it can publish again), it sends
each of its visitor sockets the newest stored event of every conversation the socket
follows (and of its visitor's open ones): the same event again for a client that has
it (clients apply an event once, by seq), the next one for a client one behind, and a
gap (so a sync) for a client that missed more. The protocol is unchanged; clients need
only do what it already asks of them.

The order makes it sound: an event committed before the newest one is read here
either was published before the subscription (and is in what is read, its commit came
first) or after it (and arrives live); an event whose publish failed was committed
before the request to resync was sent, so before it is read here.

python-socketio's own listener retries a lost subscription after 1, 2, 4 ... 60 s
(a Redis outage of a minute could leave a process deaf for another minute after it);
``ResyncingRedisManager`` replaces that listener (``_listen``, the hook its base class
leaves to subclasses) with one that retries within ``RETRY_MAX`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import socketio

from business.model import ConversationId, VisitorId
from business.services import Services
from presentation.direct_emit import DirectEmit
from presentation.event_refs import EventRefs
from presentation.room_index import RoomIndex
from presentation.visitor_namespace import NAMESPACE, conversation_room, visitor_room

logger = logging.getLogger(__name__)

RETRY_FIRST: Final = 0.1
RETRY_MAX: Final = 1.0
"""Seconds between attempts to subscribe again: doubling from ``RETRY_FIRST`` up to
this, so a process hears Redis again within a second of it being back."""
CHUNK: Final = 200
"""Conversations read per transaction while resyncing (keeps each read short)."""
SETTLE: Final = 0.05
"""Seconds a resync waits for other triggers to join it."""

_CONVERSATION = conversation_room("")
_VISITOR = visitor_room("")


class ResyncingRedisManager(RoomIndex, socketio.AsyncRedisManager, DirectEmit):  # type: ignore[misc]
    """``AsyncRedisManager`` that has its visitors resynced when events may have been
    lost on the way to them, through ``resync`` (run as a background task of the
    server): each time Redis confirms its subscription after a loss (or a first
    subscription that had to be retried), and when another process asks because some
    of its publishes failed. Its listener retries within ``RETRY_MAX`` seconds."""

    resync: Callable[[], Awaitable[None]] | None = None
    connected: bool

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._failures = 0
        self._asking: asyncio.Task[None] | None = None

    @property
    def _resync_channel(self) -> str:
        return f"{self.channel}:resync"

    def _start_resync(self) -> None:
        if self.resync is not None:
            self.server.start_background_task(self.resync)

    async def _listen(self) -> AsyncIterator[bytes]:
        channel = self.channel.encode("utf-8")
        resync_channel = self._resync_channel.encode("utf-8")
        own = self.host_id.encode("utf-8")
        delay = RETRY_FIRST
        # Until the first subscription, nothing was missed unless it had to be retried.
        lost, first = False, True
        while True:
            try:
                self._redis_connect()
                # Unlike the base class's, this one sees Redis confirm the subscription:
                # from then on, every publish reaches this process.
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(self.channel, self._resync_channel)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe" and message["channel"] == channel:
                        # Also after redis-py reconnected and subscribed again by itself.
                        if lost or not first:
                            logger.warning("subscribed to Redis again: resyncing visitors")
                            self._start_resync()
                        delay, lost, first = RETRY_FIRST, False, False
                    elif message["type"] != "message":
                        continue
                    elif message["channel"] == channel:
                        yield message["data"]
                    elif message["channel"] == resync_channel and message["data"] != own:
                        self._start_resync()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not lost:
                    logger.warning("lost the Redis subscription (%s); retrying", error)
                lost = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _publish(self, data: object) -> object:
        # As the base class's (two attempts, a new client for the second), except
        # that what it gives up on is remembered, not only logged, twice per event:
        # it is lost for the visitors of the other processes, who are then asked to
        # resync once Redis takes publishes again.
        error: Exception | None = None
        for _ in range(2):
            try:
                if not self.connected:
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as failed:
                self.connected, error = False, failed
        self._failures += 1
        if self._asking is None:
            logger.warning(
                "could not publish to Redis (%s): the other processes' visitors will be "
                "asked to resync once it takes publishes again",
                error,
            )
            self._asking = self.server.start_background_task(self._ask_to_resync)
        return None

    async def _ask_to_resync(self) -> None:
        delay = RETRY_FIRST
        reconnect = False
        try:
            while True:
                await asyncio.sleep(delay)
                failures = self._failures
                try:
                    if reconnect:
                        self._redis_connect()
                    await self.redis.publish(self._resync_channel, self.host_id)
                except Exception:
                    reconnect = True
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                # Asked after every failure so far: each lost event was committed
                # before its publish failed, so before the others read what is newest.
                if failures == self._failures:
                    logger.warning("asked the other processes to resync their visitors")
                    return
                delay = RETRY_FIRST
        finally:
            self._asking = None


class VisitorResync:
    """Sends this process's visitor sockets the newest event of what they follow."""

    def __init__(self, sio: socketio.AsyncServer, services: Services, refs: EventRefs) -> None:
        self._sio = sio
        self._services = services
        self._refs = refs
        self._wanted = 0
        self._running = False

    async def run(self) -> None:
        """Resync, once for every trigger that comes meanwhile: a subscription and
        another process's request usually come together, and each pass reads the
        newest event of every chat of this process. A pass serves the triggers that
        came before it started reading (what they are about was committed before)."""
        self._wanted += 1
        if self._running:
            return
        self._running = True
        try:
            while True:
                await asyncio.sleep(SETTLE)
                wanted = self._wanted
                await self._resync()
                if self._wanted == wanted:
                    return
        finally:
            self._running = False

    async def _resync(self) -> None:
        conversations: list[ConversationId] = []
        visitors: list[VisitorId] = []
        rooms: dict[Any, Any] = self._sio.manager.rooms.get(NAMESPACE, {})
        for room, members in list(rooms.items()):
            if not isinstance(room, str) or not members:
                continue
            if room.startswith(_CONVERSATION):
                conversations.append(ConversationId(room.removeprefix(_CONVERSATION)))
            elif room.startswith(_VISITOR):
                visitors.append(VisitorId(room.removeprefix(_VISITOR)))
        sent = 0
        try:
            for start in range(0, max(len(conversations), len(visitors)), CHUNK):
                newest = await self._services.history.newest(
                    conversations[start : start + CHUNK], visitors[start : start + CHUNK]
                )
                for visitor_id, event in newest:
                    rooms_of = [conversation_room(event.conversation_id), visitor_room(visitor_id)]
                    await self._sio.emit(
                        "event",
                        self._refs.live(event),
                        to=rooms_of,
                        namespace=NAMESPACE,
                        ignore_queue=True,  # for the sockets of this process only
                    )
                    sent += 1
        except Exception:
            # The events are stored: each client gets them with its next gap or reconnect.
            logger.exception("resyncing visitors after a Redis subscription failed")
        if sent:
            logger.info("sent the newest event of %d conversations to their visitors", sent)
