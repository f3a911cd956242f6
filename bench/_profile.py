"""A short reading of a py-spy ``raw`` profile (collapsed stacks): where the samples are.

    .venv/bin/python -m bench._profile FILE [--top N]

Prints the share of samples by library (self: the innermost frame is in it; total: it
is anywhere on the stack), then the functions with the most samples, self and total.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"(?P<func>.*?) \((?P<file>[^():]+)(?::\d+)?\)$")
_LIBRARIES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "greenlet",
    "socketio",
    "engineio",
    "aiohttp",
    "slixmpp",
    "business",
    "data",
    "presentation",
    "xmpp_bridge",
    "chat_engine",
    "bench",
    "json",
    "asyncio",
    "sqlite3",
    "logging",
    "uuid",
)


def library(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    for part in reversed(parts[:-1]):
        if part in _LIBRARIES:
            return part
    stem = parts[-1].removesuffix(".py")
    return stem if stem in _LIBRARIES else "other"


def parse(text: str) -> list[tuple[list[tuple[str, str]], int]]:
    """``[(frames outermost first as (function, file), samples)]``."""
    stacks: list[tuple[list[tuple[str, str]], int]] = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            match = _FRAME.match(frame.strip())
            if match is not None:
                frames.append((match["func"], match["file"]))
        if frames:
            stacks.append((frames, int(count)))
    return stacks


IDLE_LEAVES = ("EpollSelector.select", "KqueueSelector.select", "select", "poll")
"""Innermost frames of an event loop waiting for something to do."""
LOOP_FRAMES = frozenset(
    {"run_forever", "_run_once", "run_until_complete", "<module>", "_run_code"}
    | {"_run_module_as_main", "Runner.run", "run", "Handle._run"}
    | {"BaseEventLoop.run_forever", "BaseEventLoop._run_once"}
    | {"BaseEventLoop.run_until_complete"}
)


def summarize(text: str, top: int = 8) -> str:
    """The event loop's thread only (greenlet stacks included: SQLAlchemy's async layer
    runs its sync code in greenlets on that thread); other threads are counted apart,
    since py-spy cannot tell a thread waiting in C (a queue, SQLite) from one working."""
    stacks = parse(text)
    threads: Counter[str] = Counter()
    main: list[tuple[list[tuple[str, str]], int]] = []
    idle = 0
    for frames, count in stacks:
        if frames[0][0] == "Thread._bootstrap":
            inner = [f for f, _ in frames if not f.startswith(("Thread.", "_bootstrap"))]
            threads[inner[0] if inner else "thread"] += count
        elif frames[-1][0] in IDLE_LEAVES:
            idle += count
        else:
            main.append((frames, count))
    busy = sum(count for _, count in main)
    total = busy + idle
    if not total:
        return "  (no samples)"
    self_lib: Counter[str] = Counter()
    all_lib: Counter[str] = Counter()
    self_fn: Counter[str] = Counter()
    all_fn: Counter[str] = Counter()
    for frames, count in main:
        func, path = frames[-1]
        self_lib[library(path)] += count
        self_fn[f"{func} ({path})"] += count
        for name in {library(p) for f, p in frames if f not in LOOP_FRAMES}:
            all_lib[name] += count
        for name in {f"{f} ({p})" for f, p in frames if f not in LOOP_FRAMES}:
            all_fn[name] += count

    def pct(n: int) -> str:
        return f"{100 * n / max(1, busy):4.1f}%"

    def shares(counter: Counter[str], n: int) -> str:
        return ", ".join(f"{k} {pct(v)}" for k, v in counter.most_common(n))

    lines = [
        f"  event loop thread busy in {100 * busy / total:.0f}% of {total} samples; "
        "shares below are of its busy samples",
        "  by library, self: " + shares(self_lib, top),
        "  by library, on the stack: " + shares(all_lib, top + 4),
        "  functions, self:",
        *(f"    {pct(v)} {k}" for k, v in self_fn.most_common(top)),
        "  functions, on the stack:",
        *(f"    {pct(v)} {k}" for k, v in all_fn.most_common(top)),
        "  other threads (waiting or working): "
        + ", ".join(f"{k} {v}" for k, v in threads.most_common(4)),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    print(summarize(args.file.read_text(), args.top))


if __name__ == "__main__":
    main()
