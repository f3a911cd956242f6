"""What a fault scenario reports, and the table ``bench.faults`` prints."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big a run is: ``small`` for ``make test``, ``full`` for the benchmark."""

    name: str
    chats: int
    rate: float  # messages per second per chat, each way
    seconds: float  # load before and after the fault

    @classmethod
    def small(cls) -> Scale:
        return cls("small", chats=10, rate=2.0, seconds=3.0)

    @classmethod
    def full(cls) -> Scale:
        return cls("full", chats=200, rate=2.0, seconds=10.0)


@dataclasses.dataclass
class Row:
    """One scenario's outcome. ``acked`` counts messages acknowledged to their sender;
    ``lost`` those acknowledged and never stored or delivered; ``duplicated`` those stored
    or shown twice; ``recovery_s`` how long until every client was whole again;
    ``notes`` the scenario's own figures (re-sent stanzas, p99 of the others, ...)."""

    fault: str
    scale: str
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_s: float | None = None
    notes: dict[str, object] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


Run = Callable[[Scale, Path], Awaitable[Row]]


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    run: Run


def render(rows: Sequence[Row]) -> str:
    """The printed table: one line per fault."""
    header = ("fault", "scale", "acked", "lost", "dup", "recovery", "notes")
    lines = [header]
    for row in rows:
        recovery = "-" if row.recovery_s is None else f"{row.recovery_s:.2f} s"
        notes = ", ".join(f"{k}={v}" for k, v in row.notes.items())
        counts = (str(row.acked), str(row.lost), str(row.duplicated))
        lines.append((row.fault, row.scale, *counts, recovery, notes))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)]
        out.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(out)
