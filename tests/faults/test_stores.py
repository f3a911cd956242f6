"""The store faults of ``bench.faults`` at ``make test`` scale: a private PostgreSQL
stopped (immediate) and started under load, and Redis killed and started under load
between two engine processes. Nothing acknowledged is lost or stored twice, a refused
send is ``unavailable`` and never ``internal``, and every visitor's seq gap is filled
within ``bench.faults.redis.FILL_BOUND`` of Redis being back."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import pytest

from bench.faults import postgres, redis
from bench.faults._table import Scale

pytestmark = pytest.mark.e2e


async def test_a_postgresql_restart_loses_nothing_and_answers_unavailable(
    tmp_path: Path,
) -> None:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not shutil.which("initdb"):
        pytest.skip("PostgreSQL's initdb is not installed")
    row = await postgres.run(Scale.small(), tmp_path)
    assert row.acked > 0
    assert (row.lost, row.duplicated) == (0, 0), row
    notes = row.notes
    # The outage was seen (sends were refused), and only as "retry later".
    assert isinstance(notes["unavailable"], int), row
    assert notes["unavailable"] > 0, row
    assert (notes["internal"], notes["other_errors"], notes["timeouts"]) == (0, 0, 0), row
    # Every retry got its ack in the end: nothing was left unacknowledged.
    assert notes["unacked"] == 0, row
    assert row.recovery_s is not None, row


async def test_a_redis_restart_gets_every_visitors_gap_filled(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    row = await redis.run(Scale.small(), tmp_path)
    assert row.acked > 0
    # Every visitor had missed events when Redis came back: the fault did bite.
    assert row.notes["behind_when_back"] == Scale.small().chats, row
    assert (row.lost, row.duplicated) == (0, 0), row
    assert row.notes["filled_within_bound"] is True, row
