"""The delivery loop: started and stopped by the engine, it claims due deliveries and
sends each on a task of its own.

At most ``WebhookSettings.concurrency`` attempts are in flight, and at most
``per_target_concurrency`` per subscription, so a slow or dead target holds a few slots
for at most ``timeout`` each and every other target goes on. It looks for due
deliveries when the outbox staged some (``WebhookOutbox.on_committed``), when an
attempt ends, and every ``poll_interval`` (retries that came due, other processes'
deliveries, claims that lapsed). Everything it needs is in the database: stopped with
deliveries pending, the next start (here or in another process) sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter

from business.webhook_delivery import WebhookDeliveryService
from business.webhook_model import DueDelivery, SubscriptionId

logger = logging.getLogger(__name__)

PURGE_INTERVAL = 600.0
"""Seconds between removals of old finished deliveries."""
ERROR_PAUSE = 5.0
"""Seconds to wait after the loop failed (the database is down, say)."""
STOP_GRACE = 5.0
"""Seconds ``stop`` lets the loop finish the look for due deliveries it is in."""


class WebhookDispatcher:
    def __init__(self, deliveries: WebhookDeliveryService) -> None:
        self._deliveries = deliveries
        self._settings = deliveries.settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], SubscriptionId] = {}
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def wake(self) -> None:
        """Look for due deliveries now (something was staged)."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop looking, and cut the attempts in flight short: each is logged as
        interrupted and due again at once (``WebhookDeliveryService.attempt``).

        The loop is let finish the look it is in (up to ``STOP_GRACE``) rather than
        cancelled in it: a claim cancelled after the database committed it would hold
        its deliveries, and every later one of their conversations, until the claim's
        lease ran out (half a minute) with no attempt made."""
        task, self._task = self._task, None
        self._stopping = True
        self._wake.set()
        if task is not None:
            await asyncio.wait({task}, timeout=STOP_GRACE)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        inflight = list(self._inflight)
        if inflight:
            # Attempts started by the loop's last look get to their first step: one
            # cancelled before it would not log itself interrupted, and its claim would
            # hold the delivery until the lease ran out.
            await asyncio.sleep(0)
        for attempt in inflight:
            attempt.cancel()
        if inflight:
            await asyncio.gather(*inflight, return_exceptions=True)
        self._inflight.clear()

    async def _run(self) -> None:
        next_purge = time.monotonic()
        while not self._stopping:
            # Cleared before looking: a wake-up during the look is not lost.
            self._wake.clear()
            more = False
            if time.monotonic() >= next_purge:
                # Apart from the sending: a log that cannot be sent from still shrinks.
                next_purge = time.monotonic() + PURGE_INTERVAL
                try:
                    await self._deliveries.purge_round()
                except Exception:
                    logger.exception("purging the webhook log failed; trying again later")
            try:
                free = self._settings.concurrency - len(self._inflight)
                if free > 0:
                    claimed = await self._deliveries.claim_due(free, self._busy())
                    for due in claimed:
                        self._send(due)
                    more = len(claimed) == free
            except Exception:
                logger.exception("looking for due webhook deliveries failed; trying again")
                await asyncio.sleep(ERROR_PAUSE)
                continue
            if more:
                # Every slot was filled: others may be due too, once one frees up.
                await self._wait(None)
            else:
                await self._wait(self._settings.poll_interval)

    async def _wait(self, timeout: float | None) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
        # cancellation that comes as the wake-up does, and stop() would wait forever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    def _busy(self) -> Counter[SubscriptionId]:
        return Counter(self._inflight.values())

    def _send(self, due: DueDelivery) -> None:
        task = asyncio.create_task(self._attempt(due), name=f"webhook-{due.delivery.id}")
        self._inflight[task] = due.delivery.subscription_id

    async def _attempt(self, due: DueDelivery) -> None:
        try:
            await self._deliveries.attempt(due)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Recording failed (the database is down): the claim lapses and the
            # delivery is attempted again.
            logger.exception(
                "conversation %s: webhook delivery %s could not be recorded",
                due.delivery.conversation_id,
                due.delivery.id,
            )
        finally:
            self._inflight.pop(asyncio.current_task(), None)  # type: ignore[arg-type]
            # A slot is free (and more of that conversation may be due now).
            self._wake.set()
