"""Reconnect delays: capped exponential backoff with jitter."""

from __future__ import annotations

from collections.abc import Callable


def reconnect_delay(
    attempt: int, *, min_delay: float, max_delay: float, random: Callable[[], float]
) -> float:
    """Seconds to wait before reconnect attempt number ``attempt`` (0 for the first).

    The ceiling doubles from ``min_delay`` per attempt up to ``max_delay``; the delay is
    drawn from the upper half of it ("equal jitter"), so several engines that lost the
    same server do not all knock at once, yet every delay stays within
    ``[min_delay, max_delay]``. ``random`` returns a float in [0, 1).
    """
    if attempt < 0:
        raise ValueError("attempt must not be negative")
    # 2**attempt overflows float for absurd attempt counts; past 64 the cap has long won.
    ceiling = min(max_delay, min_delay * 2.0 ** min(attempt, 64))
    delay = ceiling / 2 + random() * ceiling / 2
    return min(max_delay, max(min_delay, delay))
