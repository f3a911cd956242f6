"""Reconnect delays: capped, jittered, exponential."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from xmpp_bridge.backoff import reconnect_delay


def schedule(random: float, attempts: int = 9) -> list[float]:
    return [
        reconnect_delay(n, min_delay=1.0, max_delay=60.0, random=lambda: random)
        for n in range(attempts)
    ]


def test_schedule_at_the_low_end_of_the_jitter() -> None:
    assert schedule(0.0) == [1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_schedule_at_the_high_end_of_the_jitter() -> None:
    assert schedule(1.0) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_jitter_spreads_within_the_upper_half_of_the_ceiling() -> None:
    assert reconnect_delay(3, min_delay=1.0, max_delay=60.0, random=lambda: 0.5) == 6.0


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert reconnect_delay(10_000, min_delay=1.0, max_delay=60.0, random=lambda: 1.0) == 60.0


def test_negative_attempt_is_a_bug() -> None:
    with pytest.raises(ValueError, match="attempt"):
        reconnect_delay(-1, min_delay=1.0, max_delay=2.0, random=lambda: 0.0)


@given(
    attempt=st.integers(min_value=0, max_value=200),
    low=st.floats(min_value=0.01, max_value=10.0),
    spread=st.floats(min_value=1.0, max_value=100.0),
    random=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_delay_always_within_the_configured_bounds(
    attempt: int, low: float, spread: float, random: float
) -> None:
    high = low * spread

    delay = reconnect_delay(attempt, min_delay=low, max_delay=high, random=lambda: random)

    assert low <= delay <= high


@given(attempt=st.integers(min_value=0, max_value=50))
def test_the_ceiling_never_shrinks(attempt: int) -> None:
    def at(n: int) -> float:
        return reconnect_delay(n, min_delay=0.5, max_delay=300.0, random=lambda: 0.999)

    assert at(attempt) <= at(attempt + 1)
