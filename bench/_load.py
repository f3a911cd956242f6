"""Load: visitors speaking raw Engine.IO v4 / Socket.IO v5 frames over aiohttp WebSockets.

The python-socketio client saturates its own core at about 100 busy connections; this
one does only what a round trip needs (framing as in ``tests/presentation/raw_engineio``):
``4`` + ``0/visitor,{auth}`` to connect, ``4`` + ``2/visitor,<id>[event, payload]`` for an
event with an ack, answers Engine.IO pings (``2`` -> ``3``), and parses only the packets
it waits for.

Configuration on the first stdin line (JSON): ``url``, ``visitors``, ``name`` (unique
per load process), ``timeout`` (seconds after which a round trip counts as timed out).
Reports ``connected`` once every visitor connected (or failed to), then on commands:

- ``start``: every visitor sends ``conversation.start`` at once and waits for an agent
  (``participant.joined`` of an agent, or ``state.changed`` to ``active``); reports
  ``started`` with the wall-clock time of the first start and of the last join.
- ``run`` (``start``, ``end``: wall-clock times): closed loop per visitor from now until
  ``end``: ``message.send`` with a fresh ``client_msg_id`` and text ``rt <visitor> <n>``,
  then wait for its ack *and* the agent's echo (an ``event`` of type ``message`` from
  kind ``agent`` with that text). Send to echo is one round trip; those completed
  between ``start`` and ``end`` are counted. Reports ``result``.
- ``stop``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import aiohttp

from bench._common import Commands, Json, read_config, report, run

NAMESPACE = "/visitor"
_PREFIX = f"{NAMESPACE},"
CONNECT_CONCURRENCY = 50
START_CAP = 120.0


class Visitor:
    def __init__(self, name: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        self.name = name
        self.ws = ws
        self.connected: asyncio.Future[Json] = loop.create_future()
        self.joined: asyncio.Future[float] = loop.create_future()
        self._acks: dict[int, asyncio.Future[Json]] = {}
        self._next_ack = 0
        self._echo_text: str | None = None
        self._echo: asyncio.Future[float] | None = None
        self.conversation_id = ""
        self.sent_at: float | None = None
        self.timed_out = False
        self.completed = 0
        self.reader: asyncio.Task[None] | None = None

    # -- receiving ----------------------------------------------------------------------

    async def read(self) -> None:
        async for message in self.ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            kind = text[:1]
            if kind == "4":
                self._socketio(text[1:])
            elif kind == "2":  # Engine.IO ping
                await self.ws.send_str("3")
            elif kind == "1":
                break
        for future in (self.connected, self.joined, self._echo, *self._acks.values()):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(f"{self.name}: connection closed"))
                future.exception()  # whoever awaits it still gets it; nobody else logs it

    def _socketio(self, packet: str) -> None:
        kind, body = packet[:1], packet[1:]
        body = body.removeprefix(_PREFIX)
        if kind == "2":  # event
            name, payload = json.loads(body)
            self._on_emit(name, payload)
        elif kind == "3":  # ack
            digits = 0
            while body[digits].isdigit():
                digits += 1
            future = self._acks.pop(int(body[:digits]), None)
            if future is not None and not future.done():
                future.set_result(json.loads(body[digits:])[0])
        elif kind == "0":
            if not self.connected.done():
                self.connected.set_result(json.loads(body or "{}"))
        elif kind == "4" and not self.connected.done():
            self.connected.set_exception(ConnectionRefusedError(body))

    def _on_emit(self, name: str, payload: Json) -> None:
        """A server event: ``event`` (conversation events) here; ``session`` and the
        rest matter only to subclasses (``bench.faults``)."""
        if name == "event":
            self._on_event(payload)

    def _on_event(self, event: Json) -> None:
        kind = event.get("type")
        if kind == "message":
            echo = self._echo
            if (
                echo is not None
                and not echo.done()
                and event["from"]["kind"] == "agent"
                and event["text"] == self._echo_text
            ):
                echo.set_result(time.perf_counter())
        elif (
            (kind == "participant.joined" and event["participant"]["kind"] == "agent")
            or (kind == "state.changed" and event["state"] == "active")
        ) and not self.joined.done():
            self.joined.set_result(time.time())

    # -- sending ------------------------------------------------------------------------

    async def call(self, event: str, payload: Json) -> asyncio.Future[Json]:
        """Send an event asking for an ack; the future of the ack."""
        self._next_ack += 1
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._acks[self._next_ack] = future
        data = json.dumps([event, payload], separators=(",", ":"))
        await self.ws.send_str(f"42{_PREFIX}{self._next_ack}{data}")
        return future

    async def start(self) -> float:
        """Start a conversation; the wall-clock time the start was sent."""
        sent = time.time()
        ack = await (await self.call("conversation.start", {}))
        if not ack.get("ok"):
            raise RuntimeError(f"conversation.start refused: {ack}")
        self.conversation_id = ack["conversation"]["id"]
        return sent

    async def closed_loop(self, window: tuple[float, float], timeout: float, stats: Stats) -> None:
        start, end = window
        loop = asyncio.get_running_loop()
        number = 0
        while time.time() < end:
            number += 1
            text = f"rt {self.name} {number}"
            self._echo_text = text
            echo = self._echo = loop.create_future()
            self.sent_at = sent = time.perf_counter()
            ack_future = await self.call(
                "message.send",
                {
                    "conversation_id": self.conversation_id,
                    "client_msg_id": f"{self.name}-{number}",
                    "text": text,
                },
            )
            ack = await ack_future
            acked = time.perf_counter()
            if not ack.get("ok"):
                stats.errors[str(ack.get("error", {}).get("code"))] += 1
                self.sent_at = None
                await asyncio.sleep(0.1)
                continue
            echoed = await echo
            self.sent_at = None
            latency = max(echoed, acked) - sent
            if latency > timeout:
                self.timed_out = True
            if start <= time.time() <= end:
                stats.latencies.append(latency)
                self.completed += 1


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()


async def connect(http: aiohttp.ClientSession, url: str, name: str) -> Visitor:
    ws = await http.ws_connect(
        f"{url}/socket.io/?EIO=4&transport=websocket", autoping=True, max_msg_size=0
    )
    visitor = Visitor(name, ws)
    visitor.reader = asyncio.create_task(visitor.read())
    await ws.send_str(f"40{_PREFIX}" + json.dumps({"tenant": "default"}))
    await asyncio.wait_for(visitor.connected, 60)
    return visitor


async def main() -> None:
    config = read_config()
    commands = Commands()
    name, timeout = str(config["name"]), float(config["timeout"])
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    failures: Counter[str] = Counter()

    async def one(number: int) -> Visitor | None:
        async with gate:
            try:
                return await connect(http, str(config["url"]), f"{name}-{number}")
            except Exception as exc:
                failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
                return None

    connected = await asyncio.gather(*(one(n) for n in range(int(config["visitors"]))))
    visitors = [v for v in connected if v is not None]
    report("connected", visitors=len(visitors), failures=dict(failures))
    try:
        while True:
            command = await commands.next()
            match command.get("cmd"):
                case "start":
                    report("started", **await start_all(visitors))
                case "run":
                    window = (float(command["start"]), float(command["end"]))
                    report("result", **await run_all(visitors, window, timeout))
                case "stop":
                    break
    finally:
        closing = [v.ws.close() for v in visitors]
        await asyncio.gather(*closing, return_exceptions=True)
        await http.close()
    report("stopped")


async def start_all(visitors: list[Visitor]) -> Json:
    failures: Counter[str] = Counter()

    async def one(visitor: Visitor) -> float | None:
        try:
            sent = await visitor.start()
            await visitor.joined
        except Exception as exc:
            failures[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            return None
        return sent

    tasks = [asyncio.create_task(one(v)) for v in visitors]
    done, pending = await asyncio.wait(tasks, timeout=START_CAP) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    sent = [s for s in (t.result() for t in done) if s is not None]
    joins = [v.joined.result() for v in visitors if v.joined.done() and not v.joined.exception()]
    return {
        "first_start": min(sent, default=None),
        "last_join": max(joins, default=None),
        "joined": len(joins),
        "not_joined": len(visitors) - len(joins),
        "failures": dict(failures),
    }


async def run_all(visitors: list[Visitor], window: tuple[float, float], timeout: float) -> Json:
    stats = Stats()
    ready = [v for v in visitors if v.joined.done() and not v.joined.exception()]
    tasks = [asyncio.create_task(v.closed_loop(window, timeout, stats)) for v in ready]
    await asyncio.sleep(max(0.0, window[1] - time.time()))
    now = time.perf_counter()
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    broken = Counter(type(r).__name__ for r in results if isinstance(r, BaseException))
    broken.pop("CancelledError", None)
    timed_out = sum(
        1 for v in ready if v.timed_out or (v.sent_at is not None and now - v.sent_at > timeout)
    )
    return {
        "latencies": [round(x * 1000, 3) for x in stats.latencies],
        "visitors": len(ready),
        "timed_out": timed_out,
        "idle": sum(1 for v in ready if v.completed == 0),
        "errors": dict(stats.errors),
        "broken": dict(broken),
    }


if __name__ == "__main__":
    run(main())
