"""How many visitor messages per second the engine acknowledges, against a baseline.

Path measured: raw Socket.IO client (``bench._load``: the python-socketio client saturates
its own core long before the engine does) → aiohttp/Socket.IO → the messaging use case →
group commit (the messages that arrive while a batch is stored go together in the next
transaction, ack after its commit) → event to the visitor's room. The engine runs in a
child process of its own, so the clients' work (in this process) does not take its core.
Baseline, measured in the same run on the same kind of database: one bare SQLAlchemy
INSERT + COMMIT per row, the cost of storing messages one transaction at a time.

    .venv/bin/python -m bench.visitor_messages [--messages N] [--visitors V] [--database URL]
        [--redaction defaults|off|both]

``--redaction``: the tenant's PII redaction at its defaults (card numbers and IBANs
masked; every message text here has digits, so each is scanned), turned off, or both
one after the other in the same run (to see what redaction costs).

Bounded: N messages in total (default 1,000), a 120 s cap, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import create_async_engine

from bench._common import processes
from bench._load import Visitor, connect
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.redaction_settings import ConfigureRedaction
from chat_engine.bootstrap import bootstrap
from chat_engine.gc_tuning import tune_gc
from data import Database
from presentation import WebSettings, create_app

CAP_SECONDS = 120.0


async def baseline(url: str, rows: int) -> float:
    """Rows per second for one INSERT + COMMIT each (what storage alone costs)."""
    engine = create_async_engine(url)
    meta = MetaData()
    table = Table("bench_rows", meta, Column("id", Integer, primary_key=True), Column("t", String))
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)
        await conn.run_sync(meta.create_all)
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    started = time.perf_counter()
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        for i in range(rows):
            await conn.execute(table.insert().values(t=f"message {i}"))
            await conn.commit()
    elapsed = time.perf_counter() - started
    async with engine.begin() as conn:
        await conn.run_sync(meta.drop_all)
    await engine.dispose()
    return rows / elapsed


async def _serve(url: str, ready: Any, stop: Any, redaction: bool) -> None:
    db = Database.from_url(url)
    await db.migrate()
    services = bootstrap(uow=db.unit_of_work)
    await services.tenants.ensure_tenant(DEFAULT_TENANT, name="Bench", queues=(DEFAULT_QUEUE,))
    if not redaction:
        await services.redaction_settings.configure(
            ConfigureRedaction(tenant_id=DEFAULT_TENANT, cards=False, ibans=False)
        )
    app = create_app(
        services=services,
        # Every bench client is one visitor on loopback: lift the abuse limits.
        settings=WebSettings(
            event_burst=10_000,
            event_rate_per_second=10_000.0,
            connect_burst=10_000,
            new_visitor_burst=10_000,
        ),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    tune_gc()  # what `chat-engine run` does by default
    ready.send(runner.addresses[0][1])
    try:
        await asyncio.get_running_loop().run_in_executor(None, stop.recv)
    finally:
        await runner.cleanup()
        await db.dispose()


def _server_process(url: str, ready: Any, stop: Any, redaction: bool) -> None:
    asyncio.run(_serve(url, ready, stop, redaction))


async def engine_path(
    url: str, messages: int, visitors: int, redaction: bool = True
) -> tuple[float, list[float], float]:
    """Acked messages per second, the ack latencies (seconds) and the engine process's
    CPU per message (ms)."""
    context = multiprocessing.get_context("spawn")
    ready_recv, ready_send = context.Pipe(duplex=False)
    stop_recv, stop_send = context.Pipe(duplex=False)
    server = context.Process(target=_server_process, args=(url, ready_send, stop_recv, redaction))
    server.start()
    loop = asyncio.get_running_loop()
    try:
        if not await loop.run_in_executor(None, ready_recv.poll, 60.0):
            raise RuntimeError("the engine process did not start within 60 s")
        port = ready_recv.recv()
    except BaseException:
        server.kill()
        raise
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    clients: list[Visitor] = []
    latencies: list[float] = []
    try:
        for n in range(visitors):
            client = await connect(http, f"http://127.0.0.1:{port}", f"v{n}")
            clients.append(client)
            await client.start()

        per_visitor = messages // visitors

        async def send_all(client: Visitor, offset: int) -> None:
            for i in range(per_visitor):
                sent = time.perf_counter()
                ack = await asyncio.wait_for(
                    await client.call(
                        "message.send",
                        {
                            "conversation_id": client.conversation_id,
                            "client_msg_id": f"b-{offset}-{i}",
                            "text": f"message {i}",
                        },
                    ),
                    10,
                )
                assert ack["ok"], ack
                latencies.append(time.perf_counter() - sent)

        pid = server.pid
        assert pid is not None  # started
        cpu_before = processes()[pid][1]
        started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(send_all(c, n) for n, c in enumerate(clients))), CAP_SECONDS
        )
        elapsed = time.perf_counter() - started
        cpu = processes()[pid][1] - cpu_before
        sent = per_visitor * visitors
        return sent / elapsed, latencies, cpu * 1000 / sent
    finally:
        await asyncio.gather(*(c.ws.close() for c in clients), return_exceptions=True)
        await http.close()
        stop_send.send(None)
        await loop.run_in_executor(None, server.join, 30.0)
        if server.is_alive():
            server.kill()


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--visitors", type=int, default=10)
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: temp SQLite)")
    parser.add_argument(
        "--redaction",
        choices=("defaults", "off", "both"),
        default="defaults",
        help="the tenant's PII redaction: at its defaults, off, or both in turn",
    )
    args = parser.parse_args()
    modes = {"defaults": (True,), "off": (False,), "both": (True, False)}[args.redaction]
    messages = max(1, min(args.messages, 20_000))
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        floor = await baseline(url.replace("bench.db", "baseline.db"), messages)
        for redaction, visitors in [(r, v) for v in (1, args.visitors) for r in modes]:
            name = f"bench-{visitors}-{'redacted' if redaction else 'plain'}.db"
            rate, latencies, cpu_ms = await engine_path(
                url.replace("bench.db", name), messages, visitors, redaction
            )
            said = "redaction on " if redaction else "redaction off"
            print(
                f"{visitors:>3} visitor(s), {said}: {rate:8.0f} acked msg/s "
                f"(p50 {_percentile(latencies, 0.5) * 1000:.1f} ms, "
                f"p99 {_percentile(latencies, 0.99) * 1000:.1f} ms) "
                f"= {rate / floor:.2f} x baseline, engine CPU {cpu_ms:.3f} ms/msg"
            )
        print(f"baseline: {floor:8.0f} bare INSERT+COMMIT/s on the same database")


if __name__ == "__main__":
    asyncio.run(main())
