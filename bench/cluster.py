"""Throughput of 1, 2 and 3 engine processes behind HAProxy, on this machine.

    .venv/bin/python -m bench.cluster [--engines 1,2,3] [--visitors 100] [--seconds 15]
        [--rate 0.0333]

For each N, a fresh local cluster (``chat_engine.cluster``: its own PostgreSQL, Redis,
ejabberd with N component slots, N ``chat-engine run`` processes, HAProxy), echo agents
on its ejabberd (``bench._agents``, auto-accepting) and the raw Socket.IO load
(``bench._load``) through HAProxy, each visitor a closed loop of round trips (send,
ack, the agent's echo back). Measured over the window: round trips per second, p50 and
p99, the CPU of every engine process (from /proc), of PostgreSQL (all its processes), of
ejabberd and HAProxy, and PostgreSQL's commits and rows written (``pg_stat_database``)
per round trip. Then the curve, where it flattens, and a projection of processes,
PostgreSQL cores and commits for 10,000, 100,000 and 1,000,000 concurrent visitors,
each exchanging one message each way every ``1 / rate`` seconds (see docs/performance.md,
"Several processes").
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench._children import Child
from bench._common import Json, machine_busy, percentile, processes
from bench._run import LOAD_SHARE, WARMUP, Figures
from business.model import DEFAULT_QUEUE
from chat_engine.cluster import Cluster

AGENTS = 10
MAX_SECONDS = 60.0
MAX_VISITORS = 1000
UNLIMITED = 1_000_000
TIMEOUT = 10.0
"""Seconds after which a round trip counts as timed out."""
PROCESS_LOAD = 0.7
"""The share of a core one engine process is planned at (its Python core is the limit)."""
FLAT = 0.10
"""A step that adds less than this share of round trips per second is flat."""
PROJECTED = (10_000, 100_000, 1_000_000)


async def _pg_counters(url: str) -> tuple[int, int]:
    """(commits, rows inserted + updated + deleted) of the engines' database so far."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
                        " FROM pg_stat_database WHERE datname = current_database()"
                    )
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()


def _family_cpu(root: int) -> float:
    """CPU seconds of ``root``, its descendants and the children they reaped (PostgreSQL's
    postmaster and its backends, ejabberd's wrapper and its BEAM: not another server of
    the same kind on this machine)."""
    found = processes()
    parents: dict[int, list[int]] = {}
    for pid in found:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            parents.setdefault(int(stat.rpartition(")")[2].split()[1]), []).append(pid)
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        _, own, reaped = found.get(pid, ("", 0.0, 0.0))
        total += own + reaped
        todo.extend(parents.get(pid, []))
    return total


def _cpu(pids: dict[str, int]) -> tuple[dict[str, float], float]:
    found = processes()
    own = {name: found.get(pid, ("", 0.0, 0.0))[1] for name, pid in pids.items()}
    return own, machine_busy()[0]


def _lifted_limits(work: Path) -> Path:
    """The engines' config file: the visitor-edge limits lifted, as ``bench.roundtrip``
    does (every load visitor comes from 127.0.0.1; the defaults would refuse most)."""
    keys = (
        "event_burst",
        "event_rate_per_second",
        "connect_burst",
        "connect_rate_per_second",
        "new_visitor_burst",
        "new_visitor_rate_per_second",
        "max_sockets_per_address",
        "max_connections_per_address",
    )
    path = work / "engines.toml"
    path.write_text("[http]\n" + "".join(f"{key} = {UNLIMITED}\n" for key in keys))
    return path


async def run_cluster(n: int, visitors: int, seconds: float, work: Path) -> Figures:
    figures = Figures(target=f"{n} engine{'s' if n > 1 else ''}", k=visitors)
    config_file = _lifted_limits(work)
    cluster = Cluster(work / f"cluster-{n}", engines=n, drain_seconds=0.5, config_file=config_file)
    async with cluster:
        assert cluster.ejabberd is not None
        made = await cluster.add_agents(
            [(f"echo-{i}", f"echo-{i}") for i in range(1, AGENTS + 1)],
            max_chats=math.ceil(visitors / AGENTS) + 1,
        )
        accounts = [{"jid": a.jid, "password": a.password} for a in made]
        xmpp: Json = {
            "host": cluster.ejabberd.host,
            "port": cluster.ejabberd.c2s_port,
            "agents": accounts,
            "archive": False,
        }
        agents = await Child.spawn(f"agents-{n}", "bench._agents", xmpp, work)
        loads: list[Child] = []
        try:
            await agents.expect("ready", 120)
            await agents.send(
                {"cmd": "subscribe", "to": f"{DEFAULT_QUEUE}@{cluster.component_jid}"}
            )
            await agents.expect("subscribed", 30)
            count = max(1, math.ceil(visitors / LOAD_SHARE))
            for i in range(count):
                share = visitors // count + (1 if i < visitors % count else 0)
                config = {
                    "url": cluster.url,
                    "visitors": share,
                    "name": f"l{n}-{i}",
                    "timeout": TIMEOUT,
                }
                loads.append(await Child.spawn(f"load-{n}-{i}", "bench._load", config, work))
            connected = [await load.expect("connected", 300) for load in loads]
            figures.visitors = sum(int(c["visitors"]) for c in connected)
            for c in connected:
                for reason, failed in c["failures"].items():
                    figures.problems.append(f"{failed} connects failed: {reason}")
            for load in loads:
                await load.send({"cmd": "start"})
            started = [await load.expect("started", 300) for load in loads]
            figures.not_joined = sum(int(s["not_joined"]) for s in started)
            t0 = time.time() + WARMUP
            t1 = t0 + seconds
            for load in loads:
                await load.send({"cmd": "run", "start": t0, "end": t1})
            pids = {e.name: e.pid for e in cluster.engines if e.pid is not None}
            pids |= {"haproxy": cluster.pids["haproxy"]}
            pids |= {"agents": agents.pid} | {load.name: load.pid for load in loads}
            postgres, ejabberd = cluster.pids["postgres"], cluster.pids["ejabberd"]
            await asyncio.sleep(max(0.0, t0 - time.time()))
            before = await _pg_counters(cluster.database_url)
            cpu0, busy0, db0, ej0 = *_cpu(pids), _family_cpu(postgres), _family_cpu(ejabberd)
            await asyncio.sleep(max(0.0, t1 - time.time()))
            cpu1, busy1, db1, ej1 = *_cpu(pids), _family_cpu(postgres), _family_cpu(ejabberd)
            after = await _pg_counters(cluster.database_url)
            used = {name: (cpu1[name] - cpu0[name]) / seconds for name in pids}
            used["database"] = (db1 - db0) / seconds
            used["ejabberd"] = (ej1 - ej0) / seconds
            used["machine"] = (busy1 - busy0) / seconds
            results = [await load.expect("result", seconds + WARMUP + 60) for load in loads]
        finally:
            await asyncio.gather(*(load.stop() for load in loads))
            await agents.stop()
    latencies = sorted(x for r in results for x in r["latencies"])
    rts = figures.round_trips = len(latencies)
    figures.rate = rts / seconds
    figures.p50, figures.p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    figures.timed_out = sum(int(r["timed_out"]) for r in results)
    engines = sum(v for k, v in used.items() if k.startswith("engine"))
    figures.cores = {
        "engines": engines,
        "busiest engine": max(v for k, v in used.items() if k.startswith("engine")),
        "database": used["database"],
        "ejabberd": used["ejabberd"],
        "haproxy": used["haproxy"],
        "agents": used["agents"],
        "loads": sum(v for k, v in used.items() if k.startswith("load")),
        "machine": used["machine"],
    }
    if rts:
        figures.cpu_ms = engines * seconds * 1000 / rts
        figures.commits = (after[0] - before[0]) / rts
        figures.sql = (after[1] - before[1]) / rts  # rows written per round trip
    return figures


def render(rows: list[Figures]) -> str:
    lines = [
        "engines  visitors  rt/s    p50 ms  p99 ms  timed out  engine ms/rt  cores: engines"
        " (busiest)  postgres  ejabberd  haproxy  load+agents  machine  commits/rt  rows/rt"
    ]
    for f in rows:
        c = f.cores
        lines.append(
            f"{f.target:<8} {f.visitors:>8}  {f.rate:>6.1f}  {f.p50:>6.1f}  "
            f"{f.p99:>6.1f}  {f.timed_out:>9}  {f.cpu_ms:>12.2f}  "
            f"{c['engines']:>14.2f} ({c['busiest engine']:.2f})  {c['database']:>8.2f}  "
            f"{c['ejabberd']:>8.2f}  {c['haproxy']:>7.2f}  {c['loads'] + c['agents']:>11.2f}  "
            f"{c['machine']:>7.2f}  {f.commits:>10.2f}  {f.sql:>7.2f}"
        )
    return "\n".join(lines)


def flattens(rows: list[Figures]) -> str:
    for before, after in itertools.pairwise(rows):
        if before.rate and (after.rate - before.rate) / before.rate < FLAT:
            return (
                f"The curve flattens at {before.target}: {after.target} add "
                f"{(after.rate - before.rate) / before.rate:+.0%} round trips per second "
                f"(the machine had {rows[-1].cores['machine']:.2f} of its {os.cpu_count()} "
                "cores busy at the last step)."
            )
    return "The curve did not flatten within the engines tried."


def projection(rows: list[Figures], rate: float) -> str:
    """Processes, PostgreSQL cores and commits for the projected visitor counts, from the
    last run (the most engines: CPU per round trip includes the cluster's overheads)."""
    f = rows[-1]
    if not f.round_trips:
        return "No round trips: nothing to project."
    db_ms = f.cores["database"] * 1000 / f.rate
    ej_ms = f.cores["ejabberd"] * 1000 / f.rate
    lines = [
        f"Projection from {f.target}: {f.cpu_ms:.2f} ms of engine CPU, {db_ms:.2f} ms of "
        f"PostgreSQL CPU, {ej_ms:.2f} ms of ejabberd CPU and {f.commits:.2f} commits per round "
        f"trip (one message each way); each visitor exchanges one message each way every "
        f"{1 / rate:.0f} s; an engine process planned at {PROCESS_LOAD:.0%} of a core; idle "
        "connections' own cost (pings, memory) not included.",
        "visitors    round trips/s  engine processes  PostgreSQL cores  commits/s  ejabberd cores",
    ]
    for visitors in PROJECTED:
        per_second = visitors * rate
        cores = per_second * f.cpu_ms / 1000
        lines.append(
            f"{visitors:>9,}  {per_second:>13,.0f}  {math.ceil(cores / PROCESS_LOAD):>16,}  "
            f"{per_second * db_ms / 1000:>16.1f}  {per_second * f.commits:>9,.0f}  "
            f"{per_second * ej_ms / 1000:>14.1f}"
        )
    return "\n".join(lines)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--engines", default="1,2,3", help="engine counts to try")
    parser.add_argument("--visitors", type=int, default=100, help="concurrent visitors")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured window")
    parser.add_argument(
        "--rate", type=float, default=1 / 30, help="round trips per visitor per second, projected"
    )
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.engines.split(",")]
    if not 1 <= args.visitors <= MAX_VISITORS or not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--visitors 1..{MAX_VISITORS}, --seconds 1..{MAX_SECONDS:g}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="chat-engine-cluster-bench-") as tmp:
        for n in counts:
            print(f"-- {n} engine process(es), {args.visitors} visitors", flush=True)
            figures = await run_cluster(n, args.visitors, args.seconds, Path(tmp))
            rows.append(figures)
            print(render([figures]), flush=True)
            for problem in figures.problems:
                print(f"   ({problem})", flush=True)
    print()
    print(render(rows))
    print(flattens(rows))
    print()
    print(projection(rows, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
