"""End to end: visitors over raw Socket.IO, the engine, a fresh Prosody, echo agents.

    .venv/bin/python -m bench.roundtrip [--database sqlite|postgres|URL]
        [--visitors 1,100,1000] [--agents 12] [--seconds 20] [--quick] [--uvloop]
        [--rounds 3]

For each K, a run against the engine and then the same run against a no-storage relay
built from the same libraries (``bench._relay_server``), with the same agents on the
same Prosody. With ``--rounds N`` the pair of runs is made N times, alternating, and
the report gives each round's ratio and their median: the relay alone varies by 10 to
30 % between runs minutes apart on a small virtual machine, so one pair can put a
ratio near a target on either side of it. What runs where (each in its own process,
on this machine):

- Prosody, fresh for this invocation (``chat_engine.prosody.ProsodyServer`` in a temp
  directory, configured from ``deploy/prosody/dev.cfg.lua``);
- the server under test (``bench._engine_server`` or ``bench._relay_server``), started
  fresh for each K (the engine on a new database);
- the echo agents (``bench._agents``), one process for the whole invocation;
- the load (``bench._load``), one process per 250 visitors.

A round trip: a visitor sends ``message.send`` and waits for its ack and for the
agent's echo of its text to come back as an ``event``; the time from sending to the echo
is the round trip. Each visitor runs a closed loop; the window opens after a second of
warm-up and lasts ``--seconds``. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._children import Child, ChildFailedError
from bench._common import uvloop_available
from bench._run import Context, Figures, run_once
from chat_engine.local_ports import free_port
from chat_engine.prosody import TEMPLATE, ProsodyServer

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MAX_SECONDS = 120.0
MAX_ROUNDS = 5
MAX_VISITORS = 10_000
BUSY = 0.15
"""Cores other processes may take during a window before the run is repeated."""


def check_template() -> list[str]:
    """What the Prosody template lacks for a fair benchmark (see FIELD-NOTES)."""
    text = TEMPLATE.read_text()
    problems = []
    if not re.search(r"network_settings\s*=\s*\{[^}]*nagle\s*=\s*false", text):
        problems.append("Nagle is not turned off (network_settings = { nagle = false })")
    if not re.search(r"storage\s*=\s*\{[^}]*archive\s*=\s*\"memory\"", text):
        problems.append('the archive store is not "memory"')
    return problems


def database_of(option: str, tmp: Path) -> str:
    if option == "sqlite" or option.startswith("sqlite"):
        return "sqlite"
    url = DEFAULT_POSTGRES if option == "postgres" else option
    if not url.startswith(("postgresql", "postgres")):
        raise SystemExit(f"--database: expected sqlite, postgres or a PostgreSQL URL, not {url}")
    return url.replace("postgres://", "postgresql+asyncpg://", 1).replace(
        "postgresql://", "postgresql+asyncpg://", 1
    )


def find_pyspy() -> str:
    for candidate in (shutil.which("py-spy"), str(Path(sys.executable).parent / "py-spy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("--profile needs py-spy: .venv/bin/pip install -e '.[bench]'")


def prosody_version() -> str:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "prosody"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown version"


async def benchmark(args: argparse.Namespace, tmp: Path) -> list[Figures]:
    prosody = ProsodyServer(
        tmp / "prosody",
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
    )
    await prosody.astart(timeout=30)
    agents_child: Child | None = None
    figures: list[Figures] = []
    try:
        accounts = []
        for number in range(1, args.agents + 1):
            password = secrets.token_urlsafe(12)
            jid = await prosody.aregister(f"bench-agent-{number}", password)
            accounts.append({"jid": jid, "password": password})
        agents_config = {
            "host": prosody.host,
            "port": prosody.c2s_port,
            "agents": accounts,
            "archive": args.archive,
        }
        agents_child = await Child.spawn("agents", "bench._agents", agents_config, tmp)
        await agents_child.expect("ready", 60)
        assert prosody.pid is not None
        ctx = Context(
            tmp=tmp,
            database=database_of(args.database, tmp),
            xmpp={
                "component_jid": prosody.component_jid,
                "host": prosody.host,
                "port": prosody.component_port,
                "secret": prosody.component_secret,
            },
            agents=agents_child,
            agent_jids=[a["jid"] for a in accounts],
            prosody_pid=prosody.pid,
            seconds=args.seconds,
            timeout=args.timeout,
            load_processes=args.load_processes,
            uvloop=args.uvloop,
            python_gc=args.python_gc,
            profile=args.profile,
            pyspy=find_pyspy() if args.profile else None,
            idle=args.idle,
        )
        for k in args.visitors:
            for round_ in range(1, args.rounds + 1):
                for target in args.targets:
                    of = f", round {round_} of {args.rounds}" if args.rounds > 1 else ""
                    print(f"  {target}, {k} visitor(s){of} ...", flush=True)
                    result = await measured(ctx, target, k, args.retries)
                    result.round = round_
                    figures.append(result)
                    print(row(result), flush=True)
    finally:
        if agents_child is not None:
            await agents_child.stop()
        await prosody.astop()
    return figures


async def measured(ctx: Context, target: str, k: int, retries: int) -> Figures:
    """One run, again (up to ``retries`` times) while other processes took more than
    ``BUSY`` cores during its window; the least disturbed run counts."""
    best: Figures | None = None
    for attempt in range(retries + 1):
        try:
            result = await run_once(ctx, target, k)
        except ChildFailedError as exc:
            return Figures(target=target, k=k, problems=[f"run failed: {exc}"])
        other = result.cores.get("other", 0.0)
        if best is None or other < best.cores.get("other", 0.0):
            best = result
        if other <= BUSY:
            break
        again = "again" if attempt < retries else "keeping the least disturbed run"
        print(row(result) + f"  (disturbed: {again})", flush=True)
    assert best is not None
    return best


HEADER = (
    f"{'target':<7}{'K':>6}{'rt/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/rt':>10}"
    f"{'SQL/rt':>8}{'commit/rt':>10}{'KB idle':>8}{'KB/vis':>8}{'t/o':>6}{'start s':>9}"
    + "  cores: "
    + " ".join(
        f"{name:>4}" for name in ("srv", "loop", "db", "xmpp", "agts", "load", "lds", "all", "oth")
    )
)


def _num(value: float, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if math.isnan(value) else f"{value:>{width}.{digits}f}"


def row(f: Figures) -> str:
    keys = ("server", "loop", "database", "prosody", "agents", "load", "loads", "machine", "other")
    cores = " ".join(f"{f.cores.get(key, math.nan):4.2f}" for key in keys)
    return (
        f"{f.target:<7}{f.k:>6}{f.rate:>9.0f}{_num(f.p50, 9, 1)}{_num(f.p99, 9, 1)}"
        f"{_num(f.cpu_ms, 10, 2)}{_num(f.sql, 8, 1)}{_num(f.commits, 10, 2)}"
        f"{_num(f.kb_idle, 8, 1)}{_num(f.kb_per_visitor, 8, 1)}{f.timed_out:>6}"
        f"{_num(f.start_s, 9, 2)}  cores: {cores}"
    )


def report(args: argparse.Namespace, figures: list[Figures]) -> None:
    print()
    print(HEADER)
    for f in figures:
        print(row(f))
    print()
    for k in args.visitors:
        for line in ratios(k, figures):
            print(line)
    for f in figures:
        notes = list(f.problems)
        if not math.isnan(f.delivery_lag_max_s):
            notes.append(
                f"delivery cursors: an event sent to an agent waited at most "
                f"{f.delivery_lag_max_s:.2f} s (mean {f.delivery_lag_mean_s:.2f} s) for its "
                "cursor to be stored"
            )
        if not math.isnan(f.cursor_lag_s):
            notes.append(
                f"stored events beyond the agents' cursors at the end: about "
                f"{f.cursor_lag_s:.2f} s of events (messages in flight included)"
            )
        if f.not_joined:
            notes.append(f"{f.not_joined} visitors never got an agent")
        if f.idle:
            notes.append(f"{f.idle} visitors completed no round trip in the window")
        if f.timed_out:
            notes.append(f"{f.timed_out} visitors waited more than {args.timeout:g} s for an echo")
        if f.cores.get("load", 0) > 0.85:
            notes.append(
                f"a load process used {f.cores['load']:.0%} of a core: it may be the limit"
            )
        if f.cores.get("agents", 0) > 0.85:
            notes.append(
                f"the agents used {f.cores['agents']:.0%} of a core: they may be the limit"
            )
        if f.cores.get("machine", 0) > 0.95 * (os.cpu_count() or 1):
            notes.append("every core was busy: the machine, not one process, is the limit")
        if f.cores.get("other", 0) > BUSY:
            busiest = ", ".join(f"{name} {cores:.2f}" for name, cores in f.others.items())
            notes.append(
                f"{f.cores['other']:.2f} cores went to processes outside the benchmark"
                f" (busiest: {busiest or 'none found'})"
            )
        for note in notes:
            print(f"  ! {f.target} K={f.k}: {note}")
        if args.statements and f.statements:
            print(f"  SQL statements per round trip, {f.target} K={f.k}:")
            for kind, count in f.statements.items():
                print(f"    {count:6.2f}  {kind}")
        if f.profile:
            print(f"  profile of {f.target} K={f.k}: {f.profile}")


def ratios(k: int, figures: list[Figures]) -> list[str]:
    """The engine against the relay at ``k``: each round's ratio of round trips per
    second and of p50, and with several rounds their medians."""
    pairs = []
    for round_ in sorted({f.round for f in figures if f.k == k}):
        runs = {f.target: f for f in figures if f.k == k and f.round == round_}
        engine, relay = runs.get("engine"), runs.get("relay")
        if engine and relay and relay.rate and relay.p50:
            pairs.append((engine, relay))
    lines = [
        f"K={k}{f' round {e.round}' if len(pairs) > 1 else ''}: engine/relay round trips/s = "
        f"{e.rate / r.rate:.3f}; p50 {e.p50:.1f} vs {r.p50:.1f} ms ({e.p50 / r.p50:.2f}x)"
        for e, r in pairs
    ]
    if len(pairs) > 1:
        rate = statistics.median(e.rate / r.rate for e, r in pairs)
        p50 = statistics.median(e.p50 / r.p50 for e, r in pairs)
        lines.append(
            f"K={k}: median of {len(pairs)} rounds: engine/relay round trips/s = {rate:.3f}; "
            f"p50 {p50:.2f}x the relay's"
        )
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="sqlite", help="sqlite, postgres or a PostgreSQL URL")
    parser.add_argument("--visitors", default="1,100,1000", help="K values, comma-separated")
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per run")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="an echo later than this times out"
    )
    parser.add_argument("--quick", action="store_true", help="K = 1 and 100, 10 s each")
    parser.add_argument("--targets", default="engine,relay", help="engine, relay or both")
    parser.add_argument("--load-processes", type=int, default=None, help="default: 1 per 250")
    parser.add_argument("--uvloop", action="store_true", help="engine and relay on uvloop")
    parser.add_argument(
        "--python-gc",
        action="store_true",
        help="engine and relay keep Python's garbage collector settings (no gc_freeze, "
        "threshold 700) instead of the engine's defaults",
    )
    parser.add_argument("--profile", type=Path, default=None, help="py-spy each server into DIR")
    parser.add_argument(
        "--archive",
        action="store_true",
        help="let Prosody archive the agents' messages (by default they opt out, XEP-0313)",
    )
    parser.add_argument(
        "--statements", action="store_true", help="list the SQL statements per round trip"
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="repeat a run disturbed by other processes"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help=f"alternating rounds of the targets per K, the ratios' median reported "
        f"(at most {MAX_ROUNDS})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs)")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="only connect the K visitors and measure the server's memory per visitor",
    )
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.seconds = "1,100", 10.0
    args.visitors = [int(v) for v in args.visitors.split(",") if v.strip()]
    args.targets = [t for t in args.targets.split(",") if t.strip()]
    if any(t not in ("engine", "relay") for t in args.targets):
        parser.error("--targets: engine and/or relay")
    if any(not 1 <= k <= MAX_VISITORS for k in args.visitors):
        parser.error(f"--visitors: each between 1 and {MAX_VISITORS}")
    if args.agents < 10 or (not args.idle and max(args.visitors) > 100 * args.agents):
        parser.error("--agents: at least 10, and K / agents at most 100 (an agent's max_chats)")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds: between 1 and {MAX_ROUNDS}")
    args.seconds = min(max(1.0, args.seconds), MAX_SECONDS)
    return args


def main() -> None:
    args = parse_args()
    for problem in check_template():
        print(f"WARNING: {TEMPLATE}: {problem}", file=sys.stderr)
    loop = "uvloop" if args.uvloop and uvloop_available() else "asyncio"
    if args.uvloop and not uvloop_available():
        loop += " (--uvloop: uvloop is not installed)"
    print(
        f"database {args.database} | Prosody {prosody_version()}, fresh | {args.agents} echo agents"
        f" | event loop {loop} | {args.seconds:g} s per run, {os.cpu_count()} cores",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-roundtrip-"))
    try:
        figures = asyncio.run(benchmark(args, tmp))
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(args, figures)


if __name__ == "__main__":
    main()
