"""Ordered work per key (one agent's stanzas in order, agents side by side)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SerialLanes:
    """Runs jobs one after another per key, different keys concurrently.

    Stanzas of one agent must be handled in the order they arrived (two quick messages
    must get increasing seqs), while one slow agent must not hold up the others.
    """

    def __init__(self) -> None:
        self._queues: dict[Hashable, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def submit(self, key: Hashable, job: Job) -> None:
        if self._closed:
            logger.warning("dropping work for %s: shutting down", key)
            return
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        task = asyncio.create_task(self._run(key), name=f"xmpp-lane-{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue[0]
                try:
                    await job()
                except Exception:
                    logger.exception("unexpected error handling a stanza from %s", key)
                queue.popleft()
        finally:
            del self._queues[key]

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def close(self, *, grace: float) -> None:
        """Refuse new work, let queued work finish for up to ``grace`` s, cancel the rest."""
        self._closed = True
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            logger.warning("cancelled %d unfinished stanza handlers", len(pending))
            await asyncio.wait(pending)
