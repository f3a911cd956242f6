"""Prosody SIGKILLed mid-load and started again (same ports, same accounts).

Holds when: the engine's component is attached again (its link up and caught up)
within ``REATTACH_BOUND`` seconds of Prosody accepting connections again, and no
acknowledged message is lost or duplicated. The visitors stay connected to the engine
throughout; the agents log in again by themselves, and resend the messages that got no
receipt (those Prosody bounced or took down with it) with the same stanza ids.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.faults._rig import open_rig
from bench.faults._table import Row, Scale, Scenario

REATTACH_BOUND = 5.0


async def run(scale: Scale, work: Path) -> Row:
    row = Row(fault="prosody-restart", scale=scale.name)
    async with open_rig(scale, work) as rig:
        await rig.load()
        await asyncio.sleep(scale.seconds)
        killed = await rig.kill_prosody()
        up = await rig.start_prosody()
        attached = await rig.link_up(60)
        logins = await rig.agents_online(killed, 30)
        await asyncio.sleep(scale.seconds)
        outcome = await rig.finish()
    row.recovery_s = attached - up
    return outcome.fill(
        row,
        rig.problems,
        down_s=round(up - killed, 2),
        agents_back_s=round(max(logins, default=up) - up, 2),
    )


def holds(row: Row) -> bool:
    """Whether the Prosody restart guarantees held (what the tests assert)."""
    return (
        row.ok and row.acked > 0 and row.recovery_s is not None and row.recovery_s <= REATTACH_BOUND
    )


SCENARIO = Scenario(
    name="prosody-restart",
    what="SIGKILL Prosody mid-load and start it again",
    run=run,
)
