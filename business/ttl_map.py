"""A bounded map whose entries expire: what ``cachetools.TTLCache`` does, for hot lookups.

The message path looks up a dozen cached values per round trip (the conversation, its
tenant, its agent, the tenant's webhooks and redaction settings, the agent's language).
``TTLCache.get`` costs about 0.9 µs on this machine (a timer context, an expiry sweep
check, two linked structures), which made the caches about 4 % of the event loop under
load (``bench.roundtrip --profile``); a lookup here is one ``OrderedDict`` read, one
clock read and a move to the end, about a fifth of that.

Semantics, as ``TTLCache``'s where the callers rely on them: an entry is valid while
the clock is before its write time plus ``ttl``; an expired entry is never returned or
found with ``in`` (it is dropped when looked up). Unlike ``TTLCache`` it does not sweep
the expired entries on each write: one that is never looked up again stays until it is
the least recently used, and when the map is full a new key drops the least recently
used entry even if an expired one sits further along (at worst a miss more; memory is
bounded by ``maxsize`` entries either way), and ``len`` counts expired entries not yet
dropped. Single thread (the event loop's), like the callers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class TtlMap(Generic[K, V]):
    """At most ``maxsize`` entries, each valid for ``ttl`` seconds of ``timer``."""

    __slots__ = ("_entries", "_maxsize", "_timer", "_ttl")

    def __init__(
        self, *, maxsize: int, ttl: float, timer: Callable[[], float] = time.monotonic
    ) -> None:
        if maxsize <= 0 or ttl <= 0:
            raise ValueError("a TtlMap needs maxsize > 0 and ttl > 0")
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._maxsize = maxsize
        self._ttl = ttl
        self._timer = timer

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        entries = self._entries
        found = entries.get(key)
        if found is None:
            return default
        if self._timer() < found[0]:
            entries.move_to_end(key)
            return found[1]
        del entries[key]
        return default

    def __setitem__(self, key: K, value: V) -> None:
        entries = self._entries
        if key in entries:
            entries.move_to_end(key)
        elif len(entries) >= self._maxsize:
            entries.popitem(last=False)
        entries[key] = (self._timer() + self._ttl, value)

    def pop(self, key: K, default: V | None = None) -> V | None:
        found = self._entries.pop(key, None)
        if found is None or not self._timer() < found[0]:
            return default
        return found[1]

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, key: object) -> bool:
        found = self._entries.get(key)  # type: ignore[arg-type]
        return found is not None and self._timer() < found[0]

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped included."""
        return len(self._entries)
