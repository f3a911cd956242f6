"""Live counts for monitoring: open conversations by tenant, queue and state, and each
queue's waiting count, read from the store at most every ``max_age`` seconds.

A scrape of ``/metrics`` (every 15 s or so, from one or several Prometheus servers) asks
for these; the answer is shared for a few seconds so that scrapes never add up to load
on the database, and concurrent ones wait for the same read instead of each reading.
The counts are the whole store's, not this process's: every engine process reports the
same figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from business.model import ConversationState, QueueName, TenantId
from business.ports import Clock
from business.transactions import Transactions

DEFAULT_MAX_AGE = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveCounts:
    conversations: Mapping[tuple[TenantId, QueueName, ConversationState], int]
    """Open conversations (``OPEN_STATES``: with the bot, queued, active, on hold);
    combinations with none absent."""
    waiting: Mapping[tuple[TenantId, QueueName], int]
    """Every queue, with how many conversations wait in it."""
    read_at: datetime


class LiveCountService:
    def __init__(
        self, *, transactions: Transactions, clock: Clock, max_age: float = DEFAULT_MAX_AGE
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._max_age = timedelta(seconds=max_age)
        self._last: LiveCounts | None = None
        self._lock = asyncio.Lock()

    async def counts(self) -> LiveCounts:
        """The counts, read at most ``max_age`` ago."""
        if (last := self._fresh()) is not None:
            return last
        async with self._lock:
            # Another caller may have read them while this one waited.
            if (last := self._fresh()) is not None:
                return last
            async with self._tx.read() as tx:
                open_counts = await tx.live_counts.open_conversations()
                lengths = await tx.live_counts.queue_lengths()
            self._last = LiveCounts(
                conversations={
                    (c.tenant_id, c.queue, c.state): c.conversations for c in open_counts
                },
                waiting={(q.tenant_id, q.queue): q.waiting for q in lengths},
                read_at=self._clock.now(),
            )
            return self._last

    def _fresh(self) -> LiveCounts | None:
        last = self._last
        if last is None or self._clock.now() - last.read_at >= self._max_age:
            return None
        return last
