"""Reconnect delays: capped exponential backoff with jitter."""

from __future__ import annotations

from collections.abc import Callable

from xmpp_bridge.settings import BridgeSettings


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


_QUICK_SLOT_RETRIES = 5
"""Reconnects right after asking a stand-in for a slot, before the usual backoff."""
_QUICK_SLOT_DELAY = 0.3


class Backoff:
    """The delays between connection attempts: capped, jittered, exponential, from the
    minimum again after a good session; but right after asking a stand-in for our slot
    (``xmpp_bridge.standby_link``), a few quick attempts first, to take it back before
    another stand-in does (with the backoff alone, an engine of a rolling restart
    waited past a minute)."""

    def __init__(self, settings: BridgeSettings, random: Callable[[], float]) -> None:
        self._settings = settings
        self._random = random
        self._attempt = 0
        self._slotless = 0

    def next(self, *, good: bool, slot_asked: bool) -> float:
        if good:
            self._attempt = 0
        if slot_asked and self._slotless < _QUICK_SLOT_RETRIES:
            self._slotless += 1
            return _QUICK_SLOT_DELAY * (0.5 + self._random())
        self._slotless = 0
        delay = reconnect_delay(
            self._attempt,
            min_delay=self._settings.reconnect_min_delay,
            max_delay=self._settings.reconnect_max_delay,
            random=self._random,
        )
        self._attempt += 1
        return delay
