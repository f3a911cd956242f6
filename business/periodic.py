"""Background rounds: one step every so many seconds, for the work whose deadlines are
stored (reservations ending, files past their retention), so that a restart loses
nothing: the next round after it finds what fell due meanwhile."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from business.background import Background
from business.errors import Conflict

logger = logging.getLogger(__name__)


class Periodic(Background):
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
        super().__init__(name)
        self._step = step
        self._interval = interval
        self._failure = failure
        self._first_delay = first_delay
        self.rounds = 0
        """Rounds finished (tests wait on it)."""

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
