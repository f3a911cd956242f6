"""One measured run: a server (engine or relay) with K visitors against the echo agents."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench._children import Child
from bench._common import Json, machine_busy, percentile, processes
from bench._profile import summarize

WARMUP = 1.0
"""Seconds of closed loop before the measured window opens."""
START_WAIT = 150.0
IDLE_SETTLE = 2.0
"""Seconds between the last visitor connecting and measuring their memory."""
LOAD_SHARE = 250
"""Visitors per load process (1,000 visitors: 4 processes)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    tmp: Path
    database: str
    """``sqlite``, or the URL of a PostgreSQL server to create throwaway databases on."""
    xmpp: Json
    agents: Child
    agent_jids: list[str]
    prosody_pid: int
    seconds: float
    timeout: float
    load_processes: int | None
    uvloop: bool
    python_gc: bool
    """Both servers keep Python's garbage collector settings (``[runtime] gc_freeze``
    false, ``gc_threshold`` 0) instead of the engine's defaults."""
    profile: Path | None
    pyspy: str | None
    """The py-spy executable, when ``profile`` names a directory for its output."""
    idle: bool = False
    """Connect the visitors and measure memory only: no chats, no round trips."""


@dataclass(slots=True, kw_only=True)
class Figures:
    target: str
    k: int
    visitors: int = 0
    round_trips: int = 0
    rate: float = 0.0
    p50: float = math.nan
    p99: float = math.nan
    cpu_ms: float = math.nan
    sql: float = math.nan
    commits: float = math.nan
    kb_per_visitor: float = math.nan
    """Memory of the server per visitor in a chat (after the starts)."""
    kb_idle: float = math.nan
    """Memory of the server per visitor connected, before any chat."""
    cursor_lag_s: float = math.nan
    """How far the agents' delivery cursors trailed at the window's end, in seconds of
    events (events not yet confirmed / events stored per second)."""
    delivery_lag_max_s: float = math.nan
    """The longest any event sent to an agent waited for its delivery cursor to be
    stored, sampled every 20 ms over the window (the bridge's ``delivery_lag``)."""
    delivery_lag_mean_s: float = math.nan
    timed_out: int = 0
    idle: int = 0
    start_s: float = math.nan
    not_joined: int = 0
    round: int = 1
    """Which of ``--rounds`` alternating rounds of the targets this run belongs to."""
    cores: dict[str, float] = field(default_factory=dict)
    """Cores each part used in the window: ``server``, ``database`` (PostgreSQL's
    processes), ``prosody``, ``agents``, ``load`` (the busiest load process), ``loads``
    (all of them), ``machine`` (everything, out of ``os.cpu_count()``) and ``other``
    (the machine less all of these: the orchestrator, py-spy, someone else)."""
    statements: dict[str, float] = field(default_factory=dict)
    """SQL statements per round trip by kind, most frequent first."""
    others: dict[str, float] = field(default_factory=dict)
    """The processes outside the benchmark that used the most cores in the window."""
    problems: list[str] = field(default_factory=list)
    profile: str = ""


@contextlib.asynccontextmanager
async def database_url(ctx: Context, k: int) -> AsyncIterator[str]:
    """A new, empty database for one engine run: an SQLite file, or a PostgreSQL
    database created for it and dropped (``WITH (FORCE)``) afterwards."""
    if ctx.database == "sqlite":
        yield f"sqlite+aiosqlite:///{ctx.tmp / f'engine-{k}-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"bench_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(ctx.database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(ctx.database).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as connection:
                await connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def start_server(ctx: Context, target: str, k: int, url: str) -> Child:
    env = {
        "BENCH_UVLOOP": "1" if ctx.uvloop else "0",
        "BENCH_PYTHON_GC": "1" if ctx.python_gc else "0",
    }
    config: Json = {"xmpp": ctx.xmpp, "agents": ctx.agent_jids}
    if target == "relay":
        return await Child.spawn(f"relay-{k}", "bench._relay_server", config, ctx.tmp, env)
    config |= {
        "database_url": url,
        "max_chats": min(100, math.ceil(k / len(ctx.agent_jids)) + 1),
        "max_queue_waiting": max(1000, 2 * k),
    }
    server = await Child.spawn(f"engine-{k}", "bench._engine_server", config, ctx.tmp, env)
    await server.expect("agents_added", 90)
    await ctx.agents.send({"cmd": "subscribe", "to": f"support@{ctx.xmpp['component_jid']}"})
    await ctx.agents.expect("subscribed", 30)
    return server


async def run_once(ctx: Context, target: str, k: int) -> Figures:
    figures = Figures(target=target, k=k)
    await wait_quiet(figures)
    async with database_url(ctx, k) as url:
        server = await start_server(ctx, target, k, url)
        loads: list[Child] = []
        try:
            ready = await server.expect("ready", 90)
            await measure(ctx, figures, server, int(ready["pid"]), int(ready["port"]), loads)
        finally:
            await asyncio.gather(*(load.stop() for load in loads))
            await server.stop()
    return figures


async def sample(server: Child) -> Json:
    await server.send({"cmd": "sample"})
    return await server.expect("sample", 30)


async def measure(
    ctx: Context, figures: Figures, server: Child, pid: int, port: int, loads: list[Child]
) -> None:
    k = figures.k
    base = await sample(server)
    count = ctx.load_processes or max(1, math.ceil(k / LOAD_SHARE))
    shares = [k // count + (1 if n < k % count else 0) for n in range(count)]
    for n, share in enumerate(shares):
        config = {
            "url": f"http://127.0.0.1:{port}",
            "visitors": share,
            "name": f"l{n}",
            "timeout": ctx.timeout,
        }
        loads.append(
            await Child.spawn(f"load-{figures.target}-{k}-{n}", "bench._load", config, ctx.tmp)
        )
    connected = [await load.expect("connected", 300) for load in loads]
    figures.visitors = sum(int(c["visitors"]) for c in connected)
    for c in connected:
        for reason, count_ in c["failures"].items():
            figures.problems.append(f"{count_} connects failed: {reason}")
    if figures.visitors:
        await asyncio.sleep(IDLE_SETTLE)
        idle = await sample(server)
        figures.kb_idle = (idle["rss_kb"] - base["rss_kb"]) / figures.visitors
    if ctx.idle:
        return
    for load in loads:
        await load.send({"cmd": "start"})
    started = [await load.expect("started", START_WAIT + 30) for load in loads]
    firsts = [s["first_start"] for s in started if s["first_start"] is not None]
    lasts = [s["last_join"] for s in started if s["last_join"] is not None]
    if firsts and lasts:
        figures.start_s = max(lasts) - min(firsts)
    figures.not_joined = sum(int(s["not_joined"]) for s in started)
    for s in started:
        for reason, count_ in s["failures"].items():
            figures.problems.append(f"{count_} starts failed: {reason}")
    after = await sample(server)
    if figures.visitors:
        figures.kb_per_visitor = (after["rss_kb"] - base["rss_kb"]) / figures.visitors

    t0 = time.time() + WARMUP
    t1 = t0 + ctx.seconds
    await server.send({"cmd": "window", "start": t0, "end": t1})
    for load in loads:
        await load.send({"cmd": "run", "start": t0, "end": t1})
    parts = {"server/proc": pid, "prosody": ctx.prosody_pid, "agents": ctx.agents.pid}
    parts |= {load.name: load.pid for load in loads}
    cpu = asyncio.create_task(cpu_window(figures, parts, t0, t1))
    profiling = asyncio.create_task(profile(ctx, figures, pid, t0))
    window = await server.expect("window", ctx.seconds + WARMUP + 60)
    results = [await load.expect("result", ctx.seconds + WARMUP + 60) for load in loads]
    used = await cpu
    await profiling
    summarize_window(figures, window, results, used, [load.name for load in loads])


def summarize_window(
    figures: Figures, window: Json, results: list[Json], used: dict[str, float], loads: list[str]
) -> None:
    start, end = window["start"], window["end"]
    seconds = end["wall"] - start["wall"]
    latencies = sorted(x for r in results for x in r["latencies"])
    n = figures.round_trips = len(latencies)
    figures.rate = n / seconds
    figures.p50 = percentile(latencies, 0.5)
    figures.p99 = percentile(latencies, 0.99)
    server_cpu = end["cpu"] - start["cpu"]
    if n:
        figures.cpu_ms = server_cpu * 1000 / n
        figures.sql = (end["statements"] - start["statements"]) / n
        figures.commits = (end["commits"] - start["commits"]) / n
        before = start.get("kinds", {})
        per_rt = {
            kind: (count - before.get(kind, 0)) / n for kind, count in end.get("kinds", {}).items()
        }
        figures.statements = {k: v for k, v in sorted(per_rt.items(), key=lambda i: -i[1]) if v}
    behind = end.get("cursors_behind")
    if behind is not None and n:
        # A round trip stores two events: the visitor's message and the agent's echo.
        figures.cursor_lag_s = int(behind) / (2 * figures.rate)
    figures.delivery_lag_max_s = float(end.get("lag_max", math.nan))
    figures.delivery_lag_mean_s = float(end.get("lag_mean", math.nan))
    figures.timed_out = sum(int(r["timed_out"]) for r in results)
    figures.idle = sum(int(r["idle"]) for r in results)
    cores = figures.cores = {
        "server": server_cpu / seconds,
        "loop": (end["loop_cpu"] - start["loop_cpu"]) / seconds,
        "database": used["database"],
        "prosody": used["prosody"],
        "agents": used["agents"],
        "load": max(used[name] for name in loads),
        "loads": sum(used[name] for name in loads),
        "machine": used["machine"],
    }
    ours = ("server", "database", "prosody", "agents", "loads")
    cores["other"] = max(0.0, cores["machine"] - sum(cores[name] for name in ours))
    for r in results:
        for code, count in r["errors"].items():
            figures.problems.append(f"{count} message.send acks were errors: {code}")
        for kind, count in r["broken"].items():
            figures.problems.append(f"{count} visitors broke off: {kind}")


async def cpu_window(
    figures: Figures, pids: dict[str, int], t0: float, t1: float
) -> dict[str, float]:
    """Cores each process used between the wall-clock times ``t0`` and ``t1``, read from
    /proc; ``database``: every ``postgres`` process together (0 on SQLite, which runs in
    the engine); ``machine``: all cores together. The busiest processes that are none of
    these go to ``figures.others``."""
    await asyncio.sleep(max(0.0, t0 - time.time()))
    first, (busy0, irq0, steal0) = processes(), machine_busy()
    await asyncio.sleep(max(0.0, t1 - time.time()))
    last, (busy1, irq1, steal1) = processes(), machine_busy()
    span = t1 - t0

    def used_by(pid: int) -> float:
        name, cpu, _ = last.get(pid, ("", 0.0, 0.0))
        return (cpu - first.get(pid, (name, 0.0, 0.0))[1]) / span

    used = {name: used_by(pid) for name, pid in pids.items()}
    # PostgreSQL's backends come and go with the pool's connections: the CPU of those that
    # ended is in their parent's children time, less what they had used before t0.
    database = sum(
        used_by(pid) + (children - first.get(pid, (n, 0.0, children))[2]) / span
        for pid, (n, _, children) in last.items()
        if n == "postgres"
    )
    ended = [pid for pid, (n, _, _) in first.items() if n == "postgres" and pid not in last]
    used["database"] = database - sum(first[pid][1] for pid in ended) / span
    used["machine"] = (busy1 - busy0) / span
    ours = set(pids.values())
    others: defaultdict[str, float] = defaultdict(float)
    for pid, (name, _, _) in last.items():
        if pid not in ours and name != "postgres":
            others[name] += used_by(pid)
    others["(interrupts)"] = (irq1 - irq0) / span
    started = sum(1 for pid, (n, _, _) in last.items() if n == "postgres" and pid not in first)
    if started or ended:
        figures.problems.append(
            f"{started} PostgreSQL backends started and {len(ended)} ended in the window "
            "(the pool opened and closed connections)"
        )
    if (steal1 - steal0) / span > 0.05:
        figures.problems.append(
            f"the virtual machine's host took {(steal1 - steal0) / span:.2f} cores (steal time)"
        )
    busiest = sorted(others.items(), key=lambda item: -item[1])[:5]
    figures.others = {name: round(v, 2) for name, v in busiest if v >= 0.02}
    return used


async def wait_quiet(figures: Figures, limit: float = 300.0) -> None:
    """Wait until the machine is idle (under 0.15 cores busy over a second) before a run,
    for at most ``limit`` seconds: someone else's tests would skew the figures."""
    deadline = time.monotonic() + limit
    waited = False
    while True:
        busy0 = machine_busy()[0]
        await asyncio.sleep(1.0)
        busy1 = machine_busy()[0]
        if busy1 - busy0 < 0.15:
            return
        if time.monotonic() > deadline:
            figures.problems.append(
                f"the machine was busy before the run ({busy1 - busy0:.2f} cores)"
            )
            return
        if not waited:
            waited = True
            print(f"    waiting for the machine to be idle ({busy1 - busy0:.2f} cores busy) ...")


async def profile(ctx: Context, figures: Figures, pid: int, t0: float) -> None:
    """py-spy on the server for the window, when ``--profile`` asked for it."""
    spy = ctx.pyspy
    if ctx.profile is None or spy is None:
        return
    ctx.profile.mkdir(parents=True, exist_ok=True)
    out = ctx.profile / f"{figures.target}-{figures.k}.txt"
    await asyncio.sleep(max(0.0, t0 - time.time()))
    duration = max(1, int(ctx.seconds))
    process = await asyncio.create_subprocess_exec(
        spy, "record", "--idle", "-d", str(duration), "-r", "100", "-p", str(pid), "-f", "raw",
        "-o", str(out), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await process.wait()
    if out.exists():
        figures.profile = f"{out}\n" + summarize(out.read_text())
