"""The headless chat core (``dist/chat-core.mjs``) in Node, with a fake socket.io: how
long it waits before connecting again after the server refused a connect.

A draining or restarting engine refuses with ``unavailable``: the core comes back at
most 5 s apart, as after a dropped connection, so a visitor is back soon after an engine
is ready again. Other refusals (``rate_limited``) keep the long backoff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("core_reconnect.mjs")


def delays(widget_dist: Path, code: str, attempts: int) -> list[float]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    run = subprocess.run(
        ["node", str(SCRIPT), str(widget_dist / "chat-core.mjs"), code, str(attempts)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    found: list[float] = json.loads(run.stdout)["delays"]
    return found


def test_a_draining_engine_is_tried_again_at_most_5_s_apart(widget_dist: Path) -> None:
    waits = delays(widget_dist, "unavailable", 8)
    assert len(waits) == 8
    assert max(waits) <= 5000
    assert waits[-1] == 5000  # it did back off, up to the cap


def test_a_rate_limited_connect_keeps_the_long_backoff(widget_dist: Path) -> None:
    waits = delays(widget_dist, "rate_limited", 8)
    assert len(waits) == 8
    assert max(waits) > 5000
