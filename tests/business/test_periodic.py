"""Background rounds (``business.periodic``): a failing round is logged and the next one
tries again, so a passing database outage does not stop the clocks for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from business.errors import Conflict
from business.periodic import Periodic


def counting_step(
    outcomes: list[BaseException | None], enough: int
) -> tuple[list[int], asyncio.Event, Callable[[], Awaitable[None]]]:
    calls = [0]
    done = asyncio.Event()

    async def step() -> None:
        calls[0] += 1
        if calls[0] >= enough:
            done.set()
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome

    return calls, done, step


async def test_rounds_go_on_after_failures_and_a_conflict_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls, done, step = counting_step([RuntimeError("database down"), Conflict("raced")], 4)
    periodic = Periodic("test-clock", step, interval=0.001, failure="could not tick")
    with caplog.at_level(logging.ERROR, logger="business.periodic"):
        periodic.start()
        await asyncio.wait_for(done.wait(), 5)
        await periodic.stop()

    assert calls[0] >= 4
    assert [r.getMessage() for r in caplog.records] == ["could not tick; trying again"]


async def test_stop_ends_the_task_and_start_is_idempotent() -> None:
    calls, done, step = counting_step([], 3)
    periodic = Periodic("test-clock", step, interval=0.001, failure="x", first_delay=0.01)
    periodic.start()
    periodic.start()  # one task, not two
    await asyncio.wait_for(done.wait(), 5)
    await periodic.stop()
    after_stop = calls[0]
    await asyncio.sleep(0.02)
    assert calls[0] == after_stop
