"""Paced visitors for the fault scenarios, in a process of their own.

Each visitor is one raw Socket.IO client (``bench._load``'s framing) in one chat, and
behaves as the widget does: it keeps its ``visitor_token``; when its connection closes
it reconnects by itself (1 s, then doubling, each delay randomized by half and then capped
at 10 s, as the widget's Socket.IO client does) and then calls ``sync`` after the last ``seq`` it
rendered (and on a gap in the live ones); it resends every message not yet
acknowledged with the same ``client_msg_id`` after a reconnect.

Configuration on the first stdin line (JSON): ``url``, ``visitors``, ``name``,
``rate`` (messages per second per visitor). Reports ``connected``; then commands:

- ``start``: every visitor starts a chat and waits for an agent; reports ``started``.
- ``go``: every visitor sends ``fv <visitor> <n>`` at ``rate`` until ``quiet``,
  skipping a turn while ``IN_FLIGHT`` of its messages are unacknowledged.
- ``status``: reports ``status``: how many are connected, and for each when it lost
  its connection, tried to reconnect and resynced (wall-clock seconds).
- ``quiet``: stop sending; wait (at most ``PENDING_WAIT`` s) for every message to be
  acknowledged, sync once more and report ``ledger``: per visitor its conversation,
  the messages acknowledged (``client_msg_id`` -> ``seq``, text), the ones never
  acknowledged, and every ``seq`` it received (type, sender kind, text, and how many
  times it came).
- ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from typing import Any

import aiohttp

from bench._common import Commands, Json, read_config, report, run
from bench._load import _PREFIX, Visitor

RECONNECT_FIRST = 1.0
RECONNECT_MAX = 5.0
ACK_TIMEOUT = 10.0
IN_FLIGHT = 4
"""Messages a visitor may have unacknowledged before it skips its next turn."""
PENDING_WAIT = 20.0
JOIN_TIMEOUT = 60.0
CONNECT_CONCURRENCY = 50


class Connection(Visitor):
    """One Socket.IO connection of a ``PacedVisitor``: it hands every event to it."""

    def __init__(self, owner: PacedVisitor, ws: aiohttp.ClientWebSocketResponse) -> None:
        super().__init__(owner.name, ws)
        self.owner = owner

    def _on_emit(self, name: str, payload: Json) -> None:
        if name == "session":
            self.owner.token = str(payload["visitor_token"])
        elif name == "event":
            self.owner.on_event(payload)


class PacedVisitor:
    def __init__(self, name: str, url: str, http: aiohttp.ClientSession, rate: float) -> None:
        self.name = name
        self.url = url
        self.http = http
        self.rate = rate
        self.token: str | None = None
        self.conversation_id = ""
        self.conn: Connection | None = None
        self.up = asyncio.Event()
        self.joined = asyncio.Event()
        self.sending = False
        self.stopping = False
        self.acked: dict[str, tuple[int, str]] = {}
        """Acknowledged: ``client_msg_id`` -> (seq, text)."""
        self.pending: dict[str, str] = {}
        """Sent, not yet acknowledged: ``client_msg_id`` -> text."""
        self.errors: Counter[str] = Counter()
        self.skipped = 0
        """Turns skipped while ``IN_FLIGHT`` messages were unacknowledged."""
        self.seen: dict[int, list[Any]] = {}
        """``seq`` -> [type, sender kind, text, client_msg_id, times received]."""
        self.last = 0
        """The last ``seq`` rendered: every one up to it was received."""
        self.downs: list[float] = []
        self.resyncs: list[float] = []
        self.attempts: list[float] = []
        """When each reconnection attempt was made (wall clock)."""
        self._syncing: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.keeper: asyncio.Task[None] | None = None

    # -- connection ---------------------------------------------------------------------

    async def connect(self) -> None:
        ws = await self.http.ws_connect(
            f"{self.url}/socket.io/?EIO=4&transport=websocket", autoping=True, max_msg_size=0
        )
        conn = Connection(self, ws)
        conn.reader = asyncio.create_task(conn.read())
        auth: Json = {"tenant": "default"}
        if self.token is not None:
            auth["visitor_token"] = self.token
        await ws.send_str(f"40{_PREFIX}" + json.dumps(auth))
        try:
            await asyncio.wait_for(conn.connected, 30)
        except BaseException:
            await ws.close()
            raise
        self.conn = conn
        self.up.set()

    async def keep_connected(self) -> None:
        """Reconnect whenever the connection closes, then resync and resend."""
        attempt = 0
        while not self.stopping:
            conn = self.conn
            if conn is not None and conn.reader is not None:
                await asyncio.wait({conn.reader})
            if self.stopping:
                return
            self.up.clear()
            self.conn = None
            self.downs.append(time.time())
            while not self.stopping:
                # engine.io-client's Backoff: randomized by half, then capped.
                delay = RECONNECT_FIRST * 2 ** min(attempt, 10) * random.uniform(0.5, 1.5)
                await asyncio.sleep(min(RECONNECT_MAX, delay))
                attempt += 1
                self.attempts.append(time.time())
                try:
                    await self.connect()
                except Exception:
                    continue
                attempt = 0
                break
            if self.conversation_id:
                with contextlib.suppress(Exception):
                    await self.sync()
                    self.resyncs.append(time.time())
                for client_msg_id, text in list(self.pending.items()):
                    self._spawn(self._send(client_msg_id, text))

    async def call(self, event: str, payload: Json, timeout: float = ACK_TIMEOUT) -> Json:
        conn = self.conn
        if conn is None:
            raise ConnectionError("not connected")
        return await asyncio.wait_for(await conn.call(event, payload), timeout)

    # -- chat ---------------------------------------------------------------------------

    async def start(self) -> None:
        ack = await self.call("conversation.start", {})
        if not ack.get("ok"):
            raise RuntimeError(f"conversation.start refused: {ack}")
        self.conversation_id = ack["conversation"]["id"]
        await asyncio.wait_for(self.joined.wait(), JOIN_TIMEOUT)

    def on_event(self, event: Json) -> None:
        kind = event.get("type")
        if (kind == "participant.joined" and event["participant"]["kind"] == "agent") or (
            kind == "state.changed" and event["state"] == "active"
        ):
            self.joined.set()
        seq = event.get("seq")
        if not isinstance(seq, int):
            return
        self._record(event)
        if seq > self.last + 1 and self.conversation_id and self._syncing is None:
            self._syncing = self._spawn(self._sync_gap())

    def _record(self, event: Json) -> None:
        seq = int(event["seq"])
        entry = self.seen.get(seq)
        if entry is not None:
            entry[4] += 1
            return
        sender = event.get("from") or {}
        self.seen[seq] = [
            event.get("type"),
            sender.get("kind"),
            event.get("text"),
            event.get("client_msg_id"),
            1,
        ]
        while self.last + 1 in self.seen:
            self.last += 1

    async def _sync_gap(self) -> None:
        try:
            with contextlib.suppress(Exception):
                await self.sync()
        finally:
            self._syncing = None

    async def sync(self) -> None:
        """``sync`` after the last rendered ``seq``, again while ``has_more``."""
        while True:
            ack = await self.call(
                "sync", {"conversation_id": self.conversation_id, "after_seq": self.last}
            )
            if not ack.get("ok"):
                self.errors[f"sync: {ack.get('error', {}).get('code')}"] += 1
                raise RuntimeError(f"sync refused: {ack}")
            for event in ack["events"]:
                self._record(event)
            if not ack.get("has_more"):
                return

    async def pace(self) -> None:
        """Send a message every ``1 / rate`` seconds while ``sending``, from a random
        phase; slots missed while disconnected are skipped, not sent in a burst."""
        interval = 1.0 / self.rate
        await asyncio.sleep(random.uniform(0, interval))
        number = 0
        next_at = time.monotonic()
        while self.sending:
            await self.up.wait()
            if not self.sending:
                return
            if len(self.pending) >= IN_FLIGHT:
                # A person waits for their messages to go before typing on: an engine
                # that falls behind is not buried under a backlog the load made up.
                self.skipped += 1
                next_at = max(next_at + interval, time.monotonic())
                await asyncio.sleep(next_at - time.monotonic())
                continue
            number += 1
            client_msg_id = f"{self.name}-{number}"
            text = f"fv {self.name} {number}"
            self.pending[client_msg_id] = text
            self._spawn(self._send(client_msg_id, text))
            next_at = max(next_at + interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    async def _send(self, client_msg_id: str, text: str) -> None:
        payload = {
            "conversation_id": self.conversation_id,
            "client_msg_id": client_msg_id,
            "text": text,
        }
        try:
            ack = await self.call("message.send", payload)
        except (ConnectionError, TimeoutError):
            return  # resent after the reconnect (or by ``settle``)
        if ack.get("ok"):
            self.acked[client_msg_id] = (int(ack["message"]["seq"]), text)
            self.pending.pop(client_msg_id, None)
        else:
            self.errors[str(ack.get("error", {}).get("code"))] += 1

    async def settle(self, limit: float) -> None:
        """Resend what is unacknowledged until nothing is or ``limit`` passes; then sync."""
        deadline = time.monotonic() + limit
        while self.pending and time.monotonic() < deadline:
            if self.up.is_set():
                await asyncio.gather(*(self._send(k, v) for k, v in list(self.pending.items())))
            if self.pending:
                await asyncio.sleep(0.5)
        while True:
            try:
                await asyncio.wait_for(self.up.wait(), limit)
                await self.sync()
                return
            except Exception:
                if time.monotonic() > deadline + limit:
                    self.errors["final sync failed"] += 1
                    return
                await asyncio.sleep(1.0)  # rate_limited, or reconnecting

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def ledger(self) -> Json:
        return {
            "name": self.name,
            "conversation_id": self.conversation_id,
            "acked": self.acked,
            "pending": self.pending,
            "errors": dict(self.errors),
            "skipped": self.skipped,
            "seen": {str(seq): entry for seq, entry in self.seen.items()},
            "downs": self.downs,
            "resyncs": self.resyncs,
        }

    async def close(self) -> None:
        self.stopping = True
        self.sending = False
        if self.keeper is not None:
            self.keeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.ws.close(), 2)


async def main() -> None:
    config = read_config()
    commands = Commands()
    name, url, rate = str(config["name"]), str(config["url"]), float(config["rate"])
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: Counter[str] = Counter()
    visitors = [PacedVisitor(f"{name}-{n}", url, http, rate) for n in range(config["visitors"])]

    async def guarded(coro: Any) -> bool:
        async with gate:
            try:
                await coro
            except Exception as exc:
                failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                return False
            return True

    ok = await asyncio.gather(*(guarded(v.connect()) for v in visitors))
    visitors = [v for v, good in zip(visitors, ok, strict=True) if good]
    for visitor in visitors:
        visitor.keeper = asyncio.create_task(visitor.keep_connected())
    report("connected", visitors=len(visitors), failures=dict(failures))
    pacers: list[asyncio.Task[None]] = []
    try:
        while True:
            command = await commands.next()
            match command.get("cmd"):
                case "start":
                    failures.clear()
                    ok = await asyncio.gather(*(guarded(v.start()) for v in visitors))
                    report("started", joined=sum(ok), failures=dict(failures))
                case "go":
                    for visitor in visitors:
                        visitor.sending = True
                        pacers.append(asyncio.create_task(visitor.pace()))
                    report("going")
                case "status":
                    report(
                        "status",
                        up=sum(1 for v in visitors if v.up.is_set()),
                        downs={v.name: v.downs for v in visitors},
                        resyncs={v.name: v.resyncs for v in visitors},
                        attempts={v.name: v.attempts for v in visitors},
                    )
                case "quiet":
                    for visitor in visitors:
                        visitor.sending = False
                    await asyncio.gather(*pacers, return_exceptions=True)
                    await asyncio.gather(*(v.settle(PENDING_WAIT) for v in visitors))
                    report("ledger", visitors=[v.ledger() for v in visitors])
                case "stop":
                    break
    finally:
        await asyncio.gather(*(v.close() for v in visitors), return_exceptions=True)
        await http.close()
    report("stopped")


if __name__ == "__main__":
    run(main())
