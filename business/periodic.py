"""Background rounds: one step every so many seconds, for the work whose deadlines are
stored (reservations ending, files past their retention), so that a restart loses
nothing: the next round after it finds what fell due meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from business.errors import Conflict

logger = logging.getLogger(__name__)


class Periodic:
    """Runs ``step`` every ``interval`` seconds in the background, the first time after
    ``first_delay``. A round that fails is logged (``failure`` says what could not be
    done) and the next one tries again; ``Conflict`` (another writer, another engine,
    got there first) is not even logged."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[object]],
        *,
        interval: float,
        failure: str,
        first_delay: float = 0.0,
    ) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._failure = failure
        self._first_delay = first_delay
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        """Rounds finished (tests wait on it)."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        if self._first_delay > 0:
            await asyncio.sleep(self._first_delay)
        while True:
            try:
                await self._step()
            except Conflict:
                pass  # the next round looks again
            except Exception:
                logger.exception("%s; trying again", self._failure)
            self.rounds += 1
            await asyncio.sleep(self._interval)
