"""Plumbing shared by the processes of ``bench.roundtrip``.

Every helper process (engine, relay, agents, load) talks to the orchestrator in JSON
lines: commands on its stdin, reports on its stdout (``{"event": ...}``); its logs go to
stderr, which the orchestrator sends to a file. Secrets and passwords travel on stdin,
never on a command line (``ps`` shows those to every local user).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

Json = dict[str, Any]

_print_lock = threading.Lock()
_TICKS = os.sysconf("SC_CLK_TCK")


def report(event: str, **fields: object) -> None:
    """One JSON line on stdout for the orchestrator (safe from any thread)."""
    line = json.dumps({"event": event, **fields}, separators=(",", ":"))
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_config() -> Json:
    """The first stdin line: this process's configuration (with any secrets)."""
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("expected a JSON configuration line on stdin")
    config: Json = json.loads(line)
    return config


class Commands:
    """The rest of stdin, one JSON command per line, as an asyncio queue.

    A thread reads stdin (a blocking pipe); end of input reads as ``{"cmd": "stop"}``, so
    a helper whose orchestrator died stops too.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Json] = asyncio.Queue()
        threading.Thread(target=self._read, name="bench-stdin", daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            with contextlib.suppress(ValueError):
                self._loop.call_soon_threadsafe(self._queue.put_nowait, json.loads(line))
        self._loop.call_soon_threadsafe(self._queue.put_nowait, {"cmd": "stop"})

    async def next(self) -> Json:
        return await self._queue.get()


def rss_kb(pid: int | str = "self") -> int:
    """Resident set size in KiB (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def processes() -> dict[int, tuple[str, float, float]]:
    """Every process: pid -> (command name, its CPU seconds, its reaped children's),
    CPU being user + system time of all threads."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            # After the name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
            fields = [
                int(v) if v.lstrip("-").isdigit() else 0 for v in stat.rpartition(")")[2].split()
            ]
            own = (fields[11] + fields[12]) / _TICKS
            found[int(entry.name)] = (name, own, (fields[13] + fields[14]) / _TICKS)
    return found


def main_thread_cpu() -> float:
    """CPU seconds of this process's main thread (the event loop's) alone."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy() -> tuple[float, float, float]:
    """(busy, interrupts, steal) CPU seconds of the whole machine since boot, all cores:
    busy is user, nice, system, irq and softirq time (not idle, iowait or steal);
    interrupts is the irq and softirq part, which no process is charged with; steal is
    time a virtual machine's host gave to someone else."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq
    return busy / _TICKS, (irq + softirq) / _TICKS, steal / _TICKS


def sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        time.sleep(delay)


def sample_window(start: float, end: float, sample: Callable[[], Json], event: str) -> None:
    """In a thread of its own (so a busy event loop cannot delay it): call ``sample`` at
    the wall-clock times ``start`` and ``end`` and report both as ``event``."""

    def run() -> None:
        sleep_until(start)
        first = sample()
        sleep_until(end)
        report(event, start=first, end=sample())

    threading.Thread(target=run, name="bench-window", daemon=True).start()


async def serve_commands(
    commands: Commands,
    sample: Callable[[], Json],
    window_sample: Callable[[], Json],
    extra: Mapping[str, Callable[[], Awaitable[Json]]] | None = None,
) -> None:
    """A server's command loop until ``stop``: ``sample`` (reported now) and ``window``
    (``window_sample`` at the window's start and end, see ``sample_window``); each of
    ``extra`` reports what its coroutine returns, under its own name."""
    while True:
        command = await commands.next()
        name = command.get("cmd")
        if extra and isinstance(name, str) and name in extra:
            report(name, **await extra[name]())
            continue
        match name:
            case "sample":
                report("sample", **sample())
            case "window":
                sample_window(command["start"], command["end"], window_sample, "window")
            case "stop":
                return


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def run(main: Coroutine[Any, Any, None], *, use_uvloop: bool = False) -> None:
    """``asyncio.run(main)``, on uvloop when asked for and installed."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if use_uvloop and uvloop_available():
        factory = importlib.import_module("uvloop").new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def percentile(ordered: list[float], p: float) -> float:
    """The ``p`` quantile (0..1) of an already sorted list (nan when empty)."""
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]
