"""kill -9 of the engine mid-load, then started again on the same database and port.

Holds when: no acknowledged message is lost, none is stored or shown twice, every
visitor has reconnected and synced within ``RESYNC_BOUND`` seconds of the engine being
back (its HTTP port accepting again), and what the agents receive again is bounded by
the delivery barrier (``BARRIER_BOUND`` seconds of the visitors' traffic), re-sent
with the same stanza ids.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.faults._rig import open_rig
from bench.faults._table import Row, Scale, Scenario

RESYNC_BOUND = 10.0
BARRIER_BOUND = 1.5
"""Seconds of the visitors' traffic the agents may receive again: the cursor flush
interval (0.5 s) and the ping confirming it, with room for a loaded machine."""


async def run(scale: Scale, work: Path) -> Row:
    row = Row(fault="kill-9", scale=scale.name)
    async with open_rig(scale, work) as rig:
        await rig.load()
        await asyncio.sleep(scale.seconds)
        behind = await rig.cursors_behind()
        killed = await rig.kill_engine()
        back = await rig.start_engine()
        ready = time.time()
        # One engine: every visitor loses its connection.
        synced = await rig.resynced(killed, RESYNC_BOUND + 20, dropped_at_least=scale.chats)
        await asyncio.sleep(scale.seconds)
        outcome = await rig.finish()
    per_second = scale.chats * scale.rate
    recovery = max((r.synced - back for r in synced.values()), default=None)
    # The engine's own share: from the reconnect that worked to the end of the sync;
    # the rest is the visitor's backoff (the widget's: 1 s doubling, at most 5 s).
    sync_s = max((r.synced - r.attempts[-1] for r in synced.values() if r.attempts), default=0)
    refused = sum(1 for r in synced.values() for a in r.attempts[:-1] if a >= back)
    row.recovery_s = recovery
    return outcome.fill(
        row,
        rig.problems,
        down_s=round(back - killed, 2),
        agents_ready_s=round(ready - back, 2),
        resynced=f"{len(synced)}/{scale.chats}",
        reconnect_sync_s=round(sync_s, 2),
        refused_after_back=refused,
        resent_s=round(outcome.resent / per_second, 2),
        behind_at_kill=behind,
    )


def holds(row: Row, scale: Scale) -> bool:
    """Whether the kill -9 guarantees held (what the tests assert)."""
    resent_s = float(str(row.notes["resent_s"]))
    return (
        row.ok
        and row.acked > 0
        and row.recovery_s is not None
        and row.recovery_s <= RESYNC_BOUND
        and resent_s <= BARRIER_BOUND
    )


SCENARIO = Scenario(
    name="kill-9",
    what="SIGKILL the engine mid-load and start it again",
    run=run,
)
