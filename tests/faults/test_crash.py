"""kill -9 of the engine and of Prosody under load, at the scale ``make test`` uses:
nothing acknowledged is lost or duplicated, the clients come back within the bounds,
and what agents receive again after a crash is bounded by the delivery barrier.

The same scenarios print the full-scale table with ``python -m bench.faults``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.faults import crash, prosody
from bench.faults._table import Scale, render

pytestmark = pytest.mark.e2e


async def test_kill_9_of_the_engine_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    scale = Scale.small()
    row = await crash.run(scale, tmp_path)
    table = render([row])
    assert row.acked > 0, table
    assert row.lost == 0, table
    assert row.duplicated == 0, table
    assert row.notes["resynced"] == f"{scale.chats}/{scale.chats}", table
    assert row.recovery_s is not None, table
    assert row.recovery_s <= crash.RESYNC_BOUND, table
    # Re-sent with the same stanza ids, at most the delivery barrier's worth.
    assert float(str(row.notes["resent_s"])) <= crash.BARRIER_BOUND, table
    assert crash.holds(row, scale), table


async def test_prosody_killed_and_restarted_loses_nothing(tmp_path: Path) -> None:
    row = await prosody.run(Scale.small(), tmp_path)
    table = render([row])
    assert row.acked > 0, table
    assert row.lost == 0, table
    assert row.duplicated == 0, table
    assert row.recovery_s is not None, table
    assert row.recovery_s <= prosody.REATTACH_BOUND, table
    assert "problems" not in row.notes, table
    assert prosody.holds(row), table
