"""The delays between the component's connection attempts (``xmpp_bridge.backoff.Backoff``)."""

from __future__ import annotations

from xmpp_bridge.backoff import Backoff
from xmpp_bridge.settings import BridgeSettings

SETTINGS = BridgeSettings(reconnect_min_delay=1.0, reconnect_max_delay=60.0)


def _half() -> float:
    return 0.5


def test_failures_back_off_up_to_the_cap_and_a_good_session_starts_over() -> None:
    backoff = Backoff(SETTINGS, _half)
    delays = [backoff.next(good=False, slot_asked=False) for _ in range(10)]
    assert delays == sorted(delays)
    assert delays[0] < 2.0
    assert delays[-1] <= 60.0
    assert delays[-1] > 10 * delays[0]
    assert backoff.next(good=True, slot_asked=False) == delays[0]


def test_after_asking_for_its_slot_it_comes_back_quickly_a_few_times_then_backs_off() -> None:
    backoff = Backoff(SETTINGS, _half)
    for _ in range(4):
        backoff.next(good=False, slot_asked=False)  # the backoff has grown
    quick = [backoff.next(good=False, slot_asked=True) for _ in range(5)]
    assert all(delay < 0.5 for delay in quick)
    # Still no slot after those: the usual backoff, where it was.
    assert backoff.next(good=False, slot_asked=True) > 10.0
