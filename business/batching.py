"""Group commit for the message path: requests that arrive while one batch is being
stored wait and go together in the next, in one transaction and one COMMIT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

_Request = TypeVar("_Request")
_Result = TypeVar("_Result")


async def one_by_one(
    requests: Sequence[_Request], handle: Callable[[_Request], Awaitable[_Result]]
) -> list[_Result | BaseException]:
    """``handle`` each request alone, in order, each outcome its result or its error:
    what a batch that failed as a whole falls back to, so that one bad request never
    takes the others down."""
    outcomes: list[_Result | BaseException] = []
    for request in requests:
        try:
            outcomes.append(await handle(request))
        except Exception as error:
            outcomes.append(error)
    return outcomes


class Batcher(Generic[_Request, _Result]):
    """Feeds submitted requests to ``process`` in batches, in arrival order.

    A request submitted while nothing is being processed starts a batch at once (a lone
    message is never held back); requests arriving meanwhile queue, and the next batch
    takes up to ``max_batch`` of them. ``process`` returns one outcome per request, in
    order: the result, or the error to raise for that request. One worker task runs
    while there is work and ends when the queue is empty, so nothing lingers. A caller
    that stops waiting (cancelled) does not take its request back: it is processed
    anyway, as an idempotent retry expects.
    """

    def __init__(
        self,
        process: Callable[[Sequence[_Request]], Awaitable[Sequence[_Result | BaseException]]],
        *,
        max_batch: int,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._process = process
        self._max_batch = max_batch
        self._queue: list[tuple[_Request, asyncio.Future[_Result]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, request: _Request) -> _Result:
        # A caller that stops waiting cancels its future and nothing else: the request
        # stays queued (or in its batch), and ``_run`` skips the outcome nobody awaits.
        return await self.enqueue(request)

    def enqueue(self, request: _Request) -> asyncio.Future[_Result]:
        """Queue ``request`` now, without waiting: requests enqueued one after the other
        are processed in that order. The future holds its outcome."""
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="group-commit")
        return future

    async def _work(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._run(batch)
        finally:
            self._worker = None
            if self._queue:  # the worker died early: do not strand what waits
                self._worker = asyncio.create_task(self._work(), name="group-commit")

    async def _run(self, batch: list[tuple[_Request, asyncio.Future[_Result]]]) -> None:
        try:
            outcomes = await self._process([request for request, _ in batch])
        except Exception as error:  # the whole batch failed: every request hears it
            outcomes = [error for _ in batch]
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # cancelled: its caller stopped waiting
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
