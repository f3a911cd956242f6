"""Visitors that keep a ledger: what they sent, what was acknowledged, every event they
were shown, and that come back after a broken connection as the widget does.

The wire is ``bench._load``'s (raw Engine.IO v4 / Socket.IO v5 over aiohttp WebSockets,
light enough for hundreds of chats in one process); ``Link`` is its ``Visitor`` with the
``session`` event (for the visitor token) and events handed to the ``Chat`` that owns
the link. A ``Chat`` outlives its links: on a lost connection it reconnects as the same
visitor (its token), syncs from the last ``seq`` it rendered, and sends again, with the
same ``client_msg_id``, every message whose ack it has not seen, as the widget's outbox
does. It renders each ``seq`` once (the protocol's rule) and counts what came again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp

from bench import _load
from bench._common import Json

ACK_TIMEOUT = 10.0
"""An ack not back by then (a stalled link) is asked for again with the same id."""
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0, 2.0)


class Link(_load.Visitor):
    """One WebSocket of a ``Chat``."""

    def __init__(self, chat: Chat, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__(chat.name, ws)
        self.chat = chat
        self.session: asyncio.Future[Json] = asyncio.get_running_loop().create_future()

    def _socketio(self, packet: str) -> None:
        if packet.startswith(f'2{_load.NAMESPACE},["session"'):
            _, payload = json.loads(packet[1 + len(_load._PREFIX) :])
            if not self.session.done():
                self.session.set_result(payload)
            return
        super()._socketio(packet)

    def _on_event(self, event: Json) -> None:
        super()._on_event(event)
        self.chat.shown(event, self)

    async def ok(self, event: str, payload: Json, timeout: float = ACK_TIMEOUT) -> Json:
        ack = await asyncio.wait_for(await self.call(event, payload), timeout)
        if not ack.get("ok"):
            raise RuntimeError(f"{self.name}: {event} refused: {ack}")
        return ack


@dataclass
class Chat:
    """One visitor and their one conversation, across connections."""

    name: str
    url: str
    http: aiohttp.ClientSession
    token: str | None = None
    conversation_id: str = ""
    link: Link | None = None
    up: asyncio.Event = field(default_factory=asyncio.Event)
    rendered: dict[int, Json] = field(default_factory=dict)
    """seq -> the event, as first received (live or through sync)."""
    again: int = 0
    """Events received for a seq already rendered (a live push overlapping a sync)."""
    acked: dict[str, int] = field(default_factory=dict)
    """client_msg_id -> seq, from the acks."""
    unacked: dict[str, str] = field(default_factory=dict)
    """client_msg_id -> text, sent and not (yet) acknowledged."""
    sent: int = 0
    retries: int = 0
    reconnects: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    acks: list[tuple[float, float]] = field(default_factory=list)
    """(sent at, seconds to the ack) of each acknowledged first attempt."""
    arrived: dict[str, float] = field(default_factory=dict)
    """Agent message text -> ``time.monotonic()`` when it was first shown live."""
    lost_at: float | None = None
    """``time.monotonic()`` when the current outage began."""
    outages: list[float] = field(default_factory=list)
    """Seconds from each lost connection to being connected and synced again."""
    _gap: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: bool = False

    @property
    def last_seq(self) -> int:
        """The last seq rendered with none missing before it."""
        seq = 0
        while seq + 1 in self.rendered:
            seq += 1
        return seq

    def shown(self, event: Json, link: Link) -> None:
        if link is not self.link or event.get("conversation_id") != self.conversation_id:
            return
        seq = int(event["seq"])
        if seq in self.rendered:
            self.again += 1
            return
        self.rendered[seq] = event
        if event.get("type") == "message" and event["from"]["kind"] == "agent":
            self.arrived.setdefault(str(event.get("text")), time.monotonic())
        if seq > self.last_seq + 1:
            self._gap.set()  # the protocol's rule: a gap means sync

    # -- connecting -----------------------------------------------------------------------

    async def _connect(self) -> Link:
        ws = await self.http.ws_connect(
            f"{self.url}/socket.io/?EIO=4&transport=websocket", autoping=True, max_msg_size=0
        )
        link = Link(self, ws)
        link.reader = asyncio.create_task(link.read())
        auth: Json = {"tenant": "default"}
        if self.token is not None:
            auth["visitor_token"] = self.token
        try:
            await ws.send_str(f"40{_load._PREFIX}" + json.dumps(auth))
            await asyncio.wait_for(link.connected, ACK_TIMEOUT)
            session = await asyncio.wait_for(link.session, ACK_TIMEOUT)
        except BaseException:
            await ws.close()
            raise
        self.token = str(session["visitor_token"])
        return link

    async def open(self) -> None:
        """Connect, start the conversation and wait until an agent has joined it."""
        link = self.link = await self._connect()
        ack = await link.ok("conversation.start", {})
        self.conversation_id = str(ack["conversation"]["id"])
        await asyncio.wait_for(link.joined, 60)
        self.up.set()

    async def sync(self, link: Link) -> None:
        """Everything after the last seq rendered, page by page."""
        while True:
            ack = await self._sync_page(link, self.last_seq)
            for event in ack["events"]:
                self.shown(event, link)
            if not ack.get("has_more"):
                return

    async def _sync_page(self, link: Link, after: int) -> Json:
        """One ``sync``; refused as ``rate_limited`` (a long resync is many pages), it
        waits the second the error asks for and syncs again, as the widget does."""
        payload = {"conversation_id": self.conversation_id, "after_seq": after}
        while True:
            ack = await asyncio.wait_for(await link.call("sync", payload), ACK_TIMEOUT)
            if ack.get("ok"):
                return ack
            if ack.get("error", {}).get("code") != "rate_limited":
                raise RuntimeError(f"{self.name}: sync refused: {ack}")
            await asyncio.sleep(1.0)

    async def keep_connected(self) -> None:
        """Reconnect and resync whenever the link breaks (until ``close``); fill gaps."""
        while not self._closing:
            link = self.link
            assert link is not None
            assert link.reader is not None
            gap = asyncio.ensure_future(self._gap.wait())
            try:
                await asyncio.wait({link.reader, gap}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gap.cancel()
            if self._closing:
                return
            if not link.reader.done():
                self._gap.clear()
                with contextlib.suppress(Exception):
                    await self.sync(link)
                continue
            self.up.clear()
            self.lost_at = self.lost_at or time.monotonic()
            await link.ws.close()
            await self.reconnect()
            self.reconnects += 1
            self.outages.append(time.monotonic() - self.lost_at)
            self.lost_at = None
            self.up.set()

    async def reconnect(self) -> None:
        """Connect again as the same visitor and sync, retrying with backoff (a refused
        connect, ``unavailable`` while the engine is busy, is retried like a lost one)."""
        for attempt in range(1_000):
            if self._closing:
                return
            await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            try:
                new = await self._connect()
            except Exception as exc:
                self.errors[f"connect: {type(exc).__name__}"] += 1
                continue
            self.link = new
            try:
                await self.sync(new)
            except Exception as exc:
                self.errors[f"sync: {type(exc).__name__}"] += 1
                await new.ws.close()
                continue
            return

    # -- sending -------------------------------------------------------------------------

    async def send(self, client_msg_id: str, text: str, *, first: bool = False) -> bool:
        """One attempt at ``message.send``; True once acknowledged."""
        started = time.monotonic()
        link = self.link
        if link is None:
            return False
        payload = {
            "conversation_id": self.conversation_id,
            "client_msg_id": client_msg_id,
            "text": text,
        }
        try:
            ack = await link.ok("message.send", payload)
        except (ConnectionError, TimeoutError, RuntimeError, aiohttp.ClientError) as exc:
            self.errors[f"send: {type(exc).__name__}"] += 1
            return False
        self.acked[client_msg_id] = int(ack["message"]["seq"])
        if first:
            self.acks.append((started, time.monotonic() - started))
        self.unacked.pop(client_msg_id, None)
        return True

    async def talk(self, rate: float, until: float) -> None:
        """``rate`` messages a second (Poisson) until ``until`` (monotonic); unacked ones
        are sent again first, as soon as the link is up."""
        number = 0
        while time.monotonic() < until:
            await asyncio.sleep(random.expovariate(rate))
            await self.up.wait()
            for client_msg_id, text in list(self.unacked.items()):
                self.retries += 1
                if not await self.send(client_msg_id, text):
                    break
            else:
                number += 1
                client_msg_id = f"{self.name}-{number}"
                text = f"v {self.name} {number}"
                self.unacked[client_msg_id] = text
                self.sent += 1
                await self.send(client_msg_id, text, first=True)

    async def flush(self, deadline: float) -> None:
        """Send again what is unacked until it is acked or ``deadline`` passes."""
        while self.unacked and time.monotonic() < deadline:
            await self.up.wait()
            for client_msg_id, text in list(self.unacked.items()):
                self.retries += 1
                if not await self.send(client_msg_id, text):
                    await asyncio.sleep(0.2)
                    break

    async def stored(self) -> list[Json]:
        """Every event of the conversation as stored: a sync from 0 on a fresh link
        (its connect retried with backoff, as a busy engine may refuse or be slow)."""
        for attempt in range(len(RECONNECT_DELAYS) * 4):
            try:
                link = await self._connect()
                break
            except Exception:
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
        else:
            link = await self._connect()
        try:
            events: list[Json] = []
            while True:
                ack = await self._sync_page(link, events[-1]["seq"] if events else 0)
                events += ack["events"]
                if not ack.get("has_more"):
                    return events
        finally:
            await link.ws.close()

    async def close(self) -> None:
        self._closing = True
        self._gap.set()
        if self.link is not None:
            await self.link.ws.close()
