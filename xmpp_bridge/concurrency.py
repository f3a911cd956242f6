"""Ordered work per key: one agent's stanzas in order, one conversation's deliveries in
order, different keys side by side."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class SerialLanes:
    """Runs jobs one after another per key, different keys concurrently.

    Stanzas of one agent to one conversation must be handled in the order they arrived
    (two quick messages must get increasing seqs), while one slow conversation must not
    hold up the others; and the same for the events of one conversation on their way
    to its agent. A job that
    raises is logged and the lane goes on. ``name`` names the lanes' tasks and logs.
    """

    def __init__(self, name: str = "xmpp-lane") -> None:
        self._name = name
        self._queues: dict[Hashable, deque[Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def submit(self, key: Hashable, job: Job) -> None:
        if self._closed:
            logger.warning("%s: dropping work for %s: shutting down", self._name, key)
            return
        queue = self._queues.get(key)
        if queue is not None:
            queue.append(job)
            return
        self._queues[key] = deque([job])
        # Named after the lanes, not the key: formatting a key per job costs more than
        # the name is worth (the logs name the key).
        task = asyncio.create_task(self._run(key), name=self._name)
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
                    logger.exception("%s: unexpected error in the work for %s", self._name, key)
                queue.popleft()
        finally:
            del self._queues[key]

    def has_work(self, key: Hashable) -> bool:
        """Whether a job of ``key`` is queued or running."""
        return key in self._queues

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def drain(self) -> None:
        """Return once every job submitted so far, and any submitted meanwhile, has run."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

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
