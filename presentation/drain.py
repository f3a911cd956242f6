"""The visitor edge's side of a graceful drain: what it refuses, and when it is idle.

A drain has two steps. ``begin``: ``/readyz`` answers 503 and new connections and new
conversations are refused with ``unavailable`` (reason ``draining``), while visitors
already here keep chatting, their messages acked as usual. ``close``, at the end of the
grace period: every further event is refused the same way, and ``settled`` waits for the
events still being handled, so that each ack they owe goes out before the sockets close.
A refused client retries: through a load balancer it lands on another engine process,
on a single process on the restarted one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from business.errors import Unavailable

DRAINING: Final = "draining"
"""The ``reason`` of the ``unavailable`` error a drain answers."""


class Draining(Unavailable):
    """This engine process is shutting down; the same request succeeds after reconnecting
    (to another process, or to this one restarted)."""


class Drain:
    """Shared by ``/readyz`` and the visitor namespace of one app."""

    def __init__(self) -> None:
        self._draining = False
        self._closing = False
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def handling(self) -> int:
        """Client events being handled (their acks not yet returned)."""
        return self._handling

    def begin(self) -> None:
        self._draining = True

    def close(self) -> None:
        """No further event is handled (``begin`` included)."""
        self._draining = self._closing = True

    def refuse_new(self, what: str) -> None:
        """Raise ``Draining`` for ``what`` (a connection, a conversation) while draining."""
        if self._draining:
            raise Draining(f"this server is restarting: {what} again in a few seconds")

    @contextmanager
    def event(self) -> Iterator[None]:
        """Around the handling of one client event, up to its ack; refused once closed."""
        if self._closing:
            raise Draining("this server is restarting: reconnect and retry")
        self._handling += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._handling -= 1
            if self._handling == 0:
                self._idle.set()

    async def settled(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the events being handled; whether they all
        were."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
