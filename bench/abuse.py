"""A well-behaved visitor's round trips while the engine's web edge is under attack.

    .venv/bin/python -m bench.abuse [--seconds 8] [--scale 1.0] [--only NAME,...]
        [--idle-timeout 5]

The attacks of ``tests/presentation/test_abuse_*`` at a larger, bounded scale. Three
processes: the web edge (aiohttp, python-socketio, the services on a fresh SQLite
database, default ``WebSettings`` but ``http_idle_timeout_seconds``), the attacker
(from 127.0.0.1), and this one, where a bystander visitor from 127.0.0.2 sends
``message.send`` one at a time and times each ack. For each attack: the bystander's
p50/p99 quiet and during the attack, what the attack got (counts), the server's RSS
before, at its peak (sampled every 100 ms) and after. Figures only, never a verdict.

Bounded: each attack stops after ``--seconds`` or its count (scaled by ``--scale``),
whichever comes first (the silent connections are held 12 s, past the engine's
``connect_timeout_seconds``); loopback only. The attacks run one after another on the
same server, so what one leaves open (sessions until their ping timeout) counts against
the per-address caps of the next.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench._common import rss_kb
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.bootstrap import bootstrap
from data import Database
from presentation import WebSettings, create_app, make_runner
from tests.presentation.abuse_tools import (
    MIB,
    Bystander,
    RawWebSocket,
    SlowClient,
    deflate_frame_bomb,
    describe,
    gzip_bomb,
)
from tests.presentation.raw_engineio import StalledPolling, connect_packet
from tests.visitor_client import Visitor

Attack = Callable[[str, float, float], Coroutine[Any, Any, Counter[str]]]


# -- the server process --------------------------------------------------------------------


async def _serve(database_url: str, idle_timeout: float, ready: Connection) -> None:
    db = Database.from_url(database_url)
    await db.migrate()
    services = bootstrap(uow=db.unit_of_work)
    await services.tenants.ensure_tenant(DEFAULT_TENANT, name="Bench", queues=(DEFAULT_QUEUE,))
    app = create_app(
        services=services, settings=WebSettings(http_idle_timeout_seconds=idle_timeout)
    )
    runner = make_runner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
    await site.start()
    ready.send(runner.addresses[0][1])
    try:
        await asyncio.get_running_loop().run_in_executor(None, ready.recv)
    finally:
        await runner.cleanup()
        await db.dispose()


def _server_process(database_url: str, idle_timeout: float, ready: Connection) -> None:
    asyncio.run(_serve(database_url, idle_timeout, ready))


# -- the attacks (in the attacker process) -------------------------------------------------


async def _hung_up(reader: asyncio.StreamReader) -> bool:
    """Whether the server has closed this connection (reads what is left unread)."""
    try:
        async with asyncio.timeout(0.2):
            while await reader.read(1 << 16):
                pass
    except ConnectionError:
        return True
    except TimeoutError:
        return False
    return True


def _until(seconds: float) -> Callable[[], bool]:
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() < deadline


async def connect_flood(url: str, seconds: float, scale: float) -> Counter[str]:
    """Socket.IO connects from one address over raw long-polling, 20 at a time."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)

    async def one() -> None:
        try:
            polling = await StalledPolling.open(url)
        except (AssertionError, aiohttp.ClientError):
            outcome["handshake refused"] += 1
            return
        try:
            await polling.send(connect_packet({"tenant": "default"}))
            poll = f"{url}/socket.io/?EIO=4&transport=polling&sid={polling.sid}"
            async with polling.http.get(poll) as response:
                answer = await response.text()
            if "44/visitor" in answer:
                outcome[
                    "connect refused (rate_limited)" if "rate_limited" in answer else answer
                ] += 1
            else:
                outcome["connected" if "40/visitor" in answer else "no answer"] += 1
        finally:
            await polling.close()

    for _ in range(int(50 * scale)):
        if not going():
            break
        await asyncio.gather(*(one() for _ in range(20)))
    return outcome


async def silent_connections(url: str, seconds: float, scale: float) -> Counter[str]:
    """Engine.IO WebSockets that never connect to the namespace, held open."""
    started = time.monotonic()
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    held: list[RawWebSocket] = []
    for _ in range(int(1000 * scale)):
        if not going():
            break
        ws = await RawWebSocket.open(url)
        if ws.upgraded:
            held.append(ws)
            outcome["upgraded"] += 1
        else:
            outcome[ws.handshake.split(b"\r\n", 1)[0].decode()] += 1
            ws.abort()
    # Past connect_timeout_seconds (10 s by default), whatever --seconds says.
    await asyncio.sleep(max(0.0, started + max(seconds, 12.0) - time.monotonic()))
    gone = await asyncio.gather(*(_hung_up(ws.reader) for ws in held))
    outcome["closed by the server after 12 s"] = sum(gone)
    for ws in held:
        ws.abort()
    return outcome


async def churn(url: str, seconds: float, scale: float) -> Counter[str]:
    """One visitor starting and ending conversations as fast as it is answered."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    visitor = Visitor(url=url)
    await visitor.connect({"tenant": "default"})
    try:
        for _ in range(int(400 * scale)):
            if not going():
                break
            start = await visitor.call("conversation.start", {})
            if not start["ok"]:
                outcome[f"start: {start['error']['code']}"] += 1
                continue
            outcome["start: ok"] += 1
            ended = await visitor.call(
                "conversation.end", {"conversation_id": start["conversation"]["id"]}
            )
            outcome["end: ok" if ended["ok"] else f"end: {ended['error']['code']}"] += 1
    finally:
        await visitor.disconnect()
    return outcome


async def oversized_frames(url: str, seconds: float, scale: float) -> Counter[str]:
    """WebSocket frames of 2 MiB (the limit is 1 MB), 10 connections at a time."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    frame = b"4" + b"x" * (2 * MIB)

    async def one() -> None:
        ws = await RawWebSocket.open(url)
        ws.send_frame(frame)
        outcome[f"close {await ws.close_code(timeout=10)}"] += 1
        ws.abort()

    for _ in range(int(20 * scale)):
        if not going():
            break
        await asyncio.gather(*(one() for _ in range(10)))
    return outcome


async def deflate_bombs(url: str, seconds: float, scale: float) -> Counter[str]:
    """permessage-deflate messages inflating to 256 MiB each, 5 at a time."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    bomb = deflate_frame_bomb(256)

    async def one() -> None:
        ws = await RawWebSocket.open(url, deflate=True)
        ws.send_frame(bomb, compressed=True)
        outcome[f"close {await ws.close_code(timeout=10)}"] += 1
        ws.abort()

    for _ in range(int(20 * scale)):
        if not going():
            break
        await asyncio.gather(*(one() for _ in range(5)))
    return outcome


async def gzip_bodies(url: str, seconds: float, scale: float) -> Counter[str]:
    """gzip request bodies inflating to 64 MiB each, to the REST API and the analytics
    endpoint, 10 at a time."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    bomb = gzip_bomb(64)
    targets = [
        (f"{url}/api/v1/queues", {"Content-Type": "application/json"}),
        (f"{url}/api/v1/analytics/events?tenant=default", {"Content-Type": "application/json"}),
    ]
    async with aiohttp.ClientSession() as http:

        async def one(n: int) -> None:
            target, headers = targets[n % 2]
            async with http.post(
                target, data=bomb, headers={**headers, "Content-Encoding": "gzip"}
            ) as response:
                await response.read()
                outcome[f"HTTP {response.status}"] += 1

        for _ in range(int(30 * scale)):
            if not going():
                break
            await asyncio.gather(*(one(n) for n in range(10)))
    return outcome


async def slowloris(url: str, seconds: float, scale: float) -> Counter[str]:
    """Connections sending a request's headers a byte every 100 ms, never finishing."""
    outcome: Counter[str] = Counter()
    going = _until(seconds)
    slow = [await SlowClient.open(url) for _ in range(int(1000 * scale))]
    outcome["opened"] = len(slow)
    while going():
        for client in slow:
            client.drip()
        await asyncio.sleep(0.1)
    gone = await asyncio.gather(*(_hung_up(c.reader) for c in slow))
    outcome["cut off by the server"] = sum(gone)
    for client in slow:
        client.close()
    return outcome


ATTACKS: dict[str, Attack] = {
    "connect flood": connect_flood,
    "silent Engine.IO connections": silent_connections,
    "start/end churn": churn,
    "oversized WebSocket frames": oversized_frames,
    "permessage-deflate bombs": deflate_bombs,
    "gzip request bodies": gzip_bodies,
    "slowloris": slowloris,
}


def _attack_process(name: str, url: str, seconds: float, scale: float, out: Connection) -> None:
    result: Counter[str] = asyncio.run(ATTACKS[name](url, seconds, scale))
    out.send(dict(result))


# -- the orchestrator ----------------------------------------------------------------------


async def _bystander_during(
    url: str, attack: multiprocessing.process.BaseProcess, server_pid: int
) -> tuple[list[float], int, int]:
    """Round trips while ``attack`` runs; its latencies and the server's peak RSS (KiB)."""
    bystander = await Bystander.open(url)
    peak = rss_kb(server_pid)
    try:
        bystander.latencies.clear()
        failed = 0
        while attack.is_alive():
            ack = await bystander.round_trip()
            failed += ack.get("ok") is not True
            peak = max(peak, rss_kb(server_pid))
            await asyncio.sleep(0.1)
        return bystander.latencies, failed, peak
    finally:
        await bystander.close()


async def _quiet(url: str, count: int) -> list[float]:
    bystander = await Bystander.open(url)
    try:
        bystander.latencies.clear()
        for _ in range(count):
            await bystander.round_trip()
            await asyncio.sleep(0.01)
        return bystander.latencies
    finally:
        await bystander.close()


async def main(args: argparse.Namespace) -> None:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'abuse.db'}"
        ours, theirs = context.Pipe()
        server = context.Process(
            target=_server_process, args=(database_url, args.idle_timeout, theirs), daemon=True
        )
        server.start()
        assert server.pid is not None
        try:
            url = f"http://127.0.0.1:{ours.recv()}"
            print(f"server pid {server.pid}, {url}; http_idle_timeout_seconds={args.idle_timeout}")
            print(describe("quiet", await _quiet(url, 200)))
            names = args.only.split(",") if args.only else list(ATTACKS)
            for name in names:
                before = rss_kb(server.pid)
                results, sink = context.Pipe()
                attacker = context.Process(
                    target=_attack_process,
                    args=(name, url, args.seconds, args.scale, sink),
                    daemon=True,
                )
                attacker.start()
                latencies, failed, peak = await _bystander_during(url, attacker, server.pid)
                attacker.join(30)
                outcome: dict[str, Any] = results.recv() if results.poll(1) else {}
                await asyncio.sleep(1)
                after = rss_kb(server.pid)
                print(f"\n{name}: {outcome}")
                print(describe("  bystander during it", latencies), f"({failed} not ok)")
                print(
                    f"  server RSS: before {before / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB,"
                    f" after {after / 1024:.0f} MiB"
                )
                print(describe("  bystander after it", await _quiet(url, 50)))
        finally:
            ours.send("stop")
            server.join(10)
            if server.is_alive():
                server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="cap per attack")
    parser.add_argument("--scale", type=float, default=1.0, help="attack counts times this")
    parser.add_argument("--only", default="", help="comma-separated attack names")
    parser.add_argument(
        "--idle-timeout", type=float, default=5.0, help="the server's http_idle_timeout_seconds"
    )
    asyncio.run(main(parser.parse_args()))
