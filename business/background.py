"""One background task per object, started once and stopped by cancelling it: what the
engine's clocks and loops (``Periodic``, ``InactivityClock``, ``OfferClock``) share."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod


class Background(ABC):
    """``start`` runs ``_run`` in a task named ``name`` (again after ``stop``, not twice
    at once); ``stop`` cancels it and waits until it has ended."""

    def __init__(self, name: str) -> None:
        self._task_name = name
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._task_name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @abstractmethod
    async def _run(self) -> None: ...
