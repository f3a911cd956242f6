"""The network-fault scenarios of ``bench.faults`` at the scale ``make test`` uses: a real
Prosody, the engine in its own process, raw WebSocket visitors and slixmpp agents, with
the fault-injecting proxy on both links. Each asserts on the row the benchmark prints."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.faults import network, slow_consumer
from bench.faults._table import Scale

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _prosody_installed() -> None:
    if shutil.which("prosody") is None:
        pytest.skip("Prosody is not installed (make test installs it)")


async def test_every_delivery_invariant_holds_through_network_faults(tmp_path: Path) -> None:
    row = await network.SCENARIO.run(Scale.small(), tmp_path)
    assert row.acked > 100  # the load ran, both ways, through every fault
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.notes["not_yet_shown"] == 0  # at this scale the engine keeps up
    # Every visitor's connection was reset once, and each came back and resynced.
    assert row.notes["reconnects"] == Scale.small().chats
    assert row.recovery_s is not None
    # The engine's component came back through the proxy after its link was reset.
    assert row.notes["relink_s"] is not None


async def test_a_slow_consumer_is_cut_off_and_resyncs_with_nothing_lost(tmp_path: Path) -> None:
    row = await slow_consumer.SCENARIO.run(Scale.small(), tmp_path)
    assert isinstance(row.notes["cut_off_s"], float), row.notes["cut_off_s"]
    assert isinstance(row.notes["flood_sent"], int)
    assert row.notes["flood_sent"] > 0
    # The flood it missed while not reading came back in its resync: acked, stored once,
    # and rendered (the ledger counts anything stored and never shown as lost).
    assert row.acked > row.notes["flood_sent"]
    assert (row.lost, row.duplicated) == (0, 0)
    assert row.notes["not_yet_shown"] == 0
    assert row.recovery_s is not None
