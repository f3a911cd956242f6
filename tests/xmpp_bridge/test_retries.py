"""Failed deliveries are tried again soon, then less and less often, never given up."""

from __future__ import annotations

import pytest

from business.model import ConversationId
from xmpp_bridge.retries import RetrySchedule

ONE = ConversationId("one")
TWO = ConversationId("two")


def test_delays_double_up_to_the_cap() -> None:
    schedule = RetrySchedule(min_delay=1.0, max_delay=5.0)

    dues = []
    for _ in range(5):
        dues.append(schedule.failed(ONE, now=100.0))
        assert schedule.take_due(dues[-1]) == [ONE]

    assert [due - 100.0 for due in dues] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_only_what_is_due_is_taken_earliest_first() -> None:
    schedule = RetrySchedule(min_delay=1.0, max_delay=60.0)
    schedule.failed(ONE, now=10.0)
    schedule.failed(ONE, now=10.0)  # second failure in a row: due at 12
    schedule.failed(TWO, now=10.5)  # due at 11.5

    assert schedule.next_due() == 11.5
    assert schedule.take_due(11.0) == []
    assert schedule.take_due(12.0) == [TWO, ONE]
    assert schedule.next_due() is None


def test_a_success_starts_the_backoff_afresh() -> None:
    schedule = RetrySchedule(min_delay=1.0, max_delay=60.0)
    schedule.failed(ONE, now=0.0)
    schedule.failed(ONE, now=0.0)

    schedule.succeeded(ONE)

    assert schedule.next_due() is None
    assert schedule.failed(ONE, now=0.0) == 1.0


def test_the_delays_must_make_sense() -> None:
    with pytest.raises(ValueError, match="retry delays"):
        RetrySchedule(min_delay=2.0, max_delay=1.0)
