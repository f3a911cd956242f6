"""Background rounds that every engine process runs on its timer but one at a time:
the purges. Two processes purging together would both delete the same bytes and rows
(harmless, but twice the work, and on PostgreSQL two deletes of one batch may deadlock
and fail a round); so a round first takes its job's lock (``TenantLocks.job``) without
waiting, and a process that finds it held skips its round: the holder does the work.

The lock is held by a read transaction open for the whole round (one pooled connection,
no snapshot kept between statements), so a process that dies mid-round releases it with
its connection and the next round of another process, at most one interval later,
takes over where it stopped: a purge's work is read again from the database each round.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from business.transactions import Transactions

logger = logging.getLogger(__name__)

T = TypeVar("T")


async def in_one_process(
    transactions: Transactions, job: str, run: Callable[[], Awaitable[T]]
) -> T | None:
    """``run()``'s result, or None without running it when another process (or another
    task of this one) runs job ``job`` now."""
    async with transactions.read() as tx:
        if not await tx.locks.job(job):
            logger.debug("%s runs in another process now: this round is skipped", job)
            return None
        return await run()
