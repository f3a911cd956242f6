"""The bounded, expiring map of the hot caches (``business.ttl_map``)."""

from __future__ import annotations

import pytest

from business.ttl_map import TtlMap


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_valid_until_its_ttl_has_passed() -> None:
    clock = Clock()
    entries: TtlMap[str, int] = TtlMap(maxsize=4, ttl=30, timer=clock)
    entries["k"] = 1
    clock.now += 29.9
    assert entries.get("k") == 1
    assert "k" in entries
    clock.now += 0.1  # exactly its expiry: gone, as in TTLCache
    assert "k" not in entries
    assert entries.get("k") is None
    assert entries.get("k", "default") == "default"
    assert len(entries) == 0  # dropped when looked up


def test_writing_again_renews_the_time_to_live() -> None:
    clock = Clock()
    entries: TtlMap[str, int] = TtlMap(maxsize=4, ttl=30, timer=clock)
    entries["k"] = 1
    clock.now += 20
    entries["k"] = 2
    clock.now += 20
    assert entries.get("k") == 2


def test_a_full_map_drops_the_least_recently_used_entry() -> None:
    entries: TtlMap[str, int] = TtlMap(maxsize=3, ttl=30, timer=Clock())
    entries["a"] = 1
    entries["b"] = 2
    entries["c"] = 3
    assert entries.get("a") == 1  # "a" used: "b" is now the least recently used
    entries["d"] = 4
    assert len(entries) == 3
    assert "b" not in entries
    assert [entries.get(key) for key in "acd"] == [1, 3, 4]
    entries["c"] = 30  # a key already held: nothing dropped
    assert len(entries) == 3
    assert [entries.get(key) for key in "acd"] == [1, 30, 4]


def test_it_stays_bounded_however_many_keys_come() -> None:
    clock = Clock()
    entries: TtlMap[int, int] = TtlMap(maxsize=100, ttl=5, timer=clock)
    for i in range(10_000):
        entries[i] = i
        clock.now += 0.01
        assert len(entries) <= 100
    assert entries.get(9_999) == 9_999
    assert entries.get(0) is None


def test_pop_and_clear() -> None:
    clock = Clock()
    entries: TtlMap[str, int] = TtlMap(maxsize=4, ttl=30, timer=clock)
    entries["a"] = 1
    entries["b"] = 2
    assert entries.pop("a") == 1
    assert entries.pop("a") is None
    assert "a" not in entries
    clock.now += 31
    assert entries.pop("b") is None  # expired: not returned
    assert len(entries) == 0
    entries["c"] = 3
    entries.clear()
    assert len(entries) == 0
    assert entries.get("c") is None


def test_a_map_that_could_hold_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="maxsize > 0 and ttl > 0"):
        TtlMap(maxsize=0, ttl=30)
    with pytest.raises(ValueError, match="maxsize > 0 and ttl > 0"):
        TtlMap(maxsize=10, ttl=0)
