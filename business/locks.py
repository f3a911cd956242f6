"""One asyncio lock per key, for "one at a time per visitor / tenant / conversation"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLock:
    """An ``asyncio.Lock`` per key, made on first use and dropped again as soon as
    nobody holds or waits for it, so a million keys seen once cost nothing later.

    Per process and per event loop: it orders coroutines of this process only.
    Not reentrant: a holder that asks again for the same key waits for itself.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def busy(self, key: Hashable) -> bool:
        """Whether someone holds or waits for ``key``'s lock."""
        return key in self._locks

    def __len__(self) -> int:
        """Keys with a holder or a waiter (the others are already gone)."""
        return len(self._locks)
