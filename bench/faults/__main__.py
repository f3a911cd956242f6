"""``python -m bench.faults [--small] [--only NAME ...] [--keep]``: every fault scenario,
then the table of what each lost, duplicated and took to recover."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import tempfile
from pathlib import Path

from bench.faults._table import Row, Scale, Scenario, render

MODULES: tuple[str, ...] = (
    "crash",
    "prosody",
)
"""The scenario modules, in the order they run; each defines ``SCENARIO``."""


def scenarios() -> list[Scenario]:
    found = []
    for name in MODULES:
        module = importlib.import_module(f"bench.faults.{name}")
        found.append(module.SCENARIO)
    return found


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--small", action="store_true", help="the scale make test uses")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these scenarios")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    scale = Scale.small() if args.small else Scale.full()
    chosen = [s for s in scenarios() if not args.only or s.name in args.only]
    if args.only and len(chosen) != len(args.only):
        known = ", ".join(s.name for s in scenarios())
        parser.error(f"unknown scenario in {args.only}; known: {known}")
    work = Path(tempfile.mkdtemp(prefix="chat-engine-faults-"))
    rows: list[Row] = []
    for scenario in chosen:
        print(f"-- {scenario.name}: {scenario.what}", flush=True)
        row = await scenario.run(scale, work / scenario.name)
        print(render([row]), flush=True)
        rows.append(row)
    print()
    print(render(rows))
    if args.keep:
        print(f"work directory kept: {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
