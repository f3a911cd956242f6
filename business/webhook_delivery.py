"""Sending what the outbox holds: claim due deliveries, sign and post one, record the
outcome and when to try again.

The retry policy: 2xx is delivered; anything else (another status, a timeout, a
connection error, a refused address) is a failure, retried after a wait that starts at
``WebhookSettings.first_retry`` and doubles up to ``max_retry_interval``, each wait
jittered down to half (so a burst of failures does not come back as one burst); a
delivery whose next try would fall past ``horizon`` after it was queued, or that used
``max_attempts``, is failed. Redirects are not followed (a 3xx is a failure).

Delivery is at least once: an attempt is claimed in the database before it is made
(``WebhookDeliveryRepository.claim``, a compare-and-set, so two processes never make
the same attempt), and if the process dies before recording its outcome the claim
lapses after ``WebhookSettings.lease`` and the delivery is attempted again with the
same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from business.cluster_jobs import in_one_process
from business.ports import Clock
from business.transactions import Transactions
from business.webhook_model import (
    DeliveryAttempt,
    DeliveryStatus,
    DueDelivery,
    SubscriptionId,
    WebhookDelivery,
)
from business.webhook_ports import HttpResult, WebhookTransport
from business.webhook_settings import WebhookSettings
from business.webhook_signing import webhook_headers

logger = logging.getLogger(__name__)

MAX_ERROR = 500
"""Characters of an error kept in the log."""
PURGE_BATCH = 1000
INTERRUPTED = "interrupted: the dispatcher stopped during the attempt"
_T = TypeVar("_T")


def retry_delay(failures: int, settings: WebhookSettings, rng: random.Random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1, 2, ...)."""
    exponent = min(failures - 1, 40)  # 2**40 first retries is past any cap
    ceiling = min(settings.max_retry_interval, settings.first_retry * 2.0**exponent)
    return ceiling * (0.5 + rng.random() / 2)


class WebhookDeliveryService:
    """The dispatcher's use cases (``business.webhook_dispatcher`` runs them)."""

    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        transport: WebhookTransport,
        settings: WebhookSettings,
        rng: random.Random | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._transport = transport
        self.settings = settings
        self._rng = rng or random.Random()

    async def claim_due(
        self, limit: int, busy: Mapping[SubscriptionId, int] | None = None
    ) -> list[DueDelivery]:
        """Claim up to ``limit`` due deliveries, no subscription beyond
        ``per_target_concurrency`` together with its ``busy`` ones (in flight here)."""
        if limit < 1:
            return []
        per_target = self.settings.per_target_concurrency
        counts = dict(busy or {})
        now = self._clock.now()
        # Looked for outside the writer (a read, on SQLite, does not queue behind the
        # message path); the claims check that nothing changed since.
        async with self._tx.read() as tx:
            full = [s for s, n in counts.items() if n >= per_target]
            candidates = await tx.webhook_deliveries.due(now, limit * per_target, exclude=full)
        if not candidates:
            return []
        claimed: list[DueDelivery] = []
        until = now + timedelta(seconds=self.settings.lease)
        async with self._tx() as tx:
            for due in candidates:
                subscription = due.delivery.subscription_id
                if counts.get(subscription, 0) >= per_target:
                    continue
                if await tx.webhook_deliveries.claim(due.delivery, until):
                    delivery = replace(
                        due.delivery, attempts=due.delivery.attempts + 1, next_attempt_at=until
                    )
                    claimed.append(replace(due, delivery=delivery))
                    counts[subscription] = counts.get(subscription, 0) + 1
                    if len(claimed) >= limit:
                        break
            await tx.commit()
        return claimed

    async def attempt(self, due: DueDelivery) -> WebhookDelivery | None:
        """Make the claimed attempt and record it; the delivery as recorded (None if it
        changed meanwhile: its subscription was deleted, or the claim lapsed and another
        attempt began)."""
        delivery = due.delivery
        started = self._clock.now()
        body = delivery.body
        headers = webhook_headers(delivery.id, int(started.timestamp()), body, due.secrets) | {
            "content-type": "application/json"
        }
        began = time.monotonic()
        try:
            result = await self._transport.post(
                due.url, body.encode(), headers, self.settings.timeout
            )
        except asyncio.CancelledError:
            # The dispatcher is stopping: whether the target got it is unknown. Logged
            # as such and due again at once (after a restart, or in another process).
            duration = int((time.monotonic() - began) * 1000)
            interrupted = HttpResult(status=None, error=INTERRUPTED, duration_ms=duration)
            await _to_the_end(self.record(delivery, interrupted, started, interrupted=True))
            raise
        except Exception as error:  # the port says it does not raise; if it does, log it
            logger.exception("webhook transport failed on delivery %s", delivery.id)
            duration = int((time.monotonic() - began) * 1000)
            result = HttpResult(status=None, error=_describe(error), duration_ms=duration)
        # A stop now must not lose the outcome (nor leave the claim to lapse).
        return await _to_the_end(self.record(delivery, result, started))

    async def record(
        self,
        delivery: WebhookDelivery,
        result: HttpResult,
        started: datetime,
        *,
        interrupted: bool = False,
    ) -> WebhookDelivery | None:
        """Store the outcome of attempt ``delivery.attempts`` begun at ``started``;
        ``interrupted``: it was cut short by a stop, which is no failure of the target
        (due again at once, the backoff unchanged)."""
        now = self._clock.now()
        error = result.error
        if error is None and not result.ok:
            error = f"HTTP {result.status}"
        attempt = DeliveryAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            attempted_at=started,
            status_code=result.status,
            error=None if error is None else error[:MAX_ERROR],
            duration_ms=result.duration_ms,
        )
        outcome = self._outcome(delivery, result, attempt, now, interrupted=interrupted)
        async with self._tx() as tx:
            stored = await tx.webhook_deliveries.finish(delivery, outcome, attempt)
            await tx.commit()
        if not stored:
            logger.info("webhook delivery %s changed during its attempt; not recorded", delivery.id)
            return None
        # A failure is worth a line; a delivery that gives up, a warning.
        level = {
            DeliveryStatus.DELIVERED: logging.DEBUG,
            DeliveryStatus.PENDING: logging.INFO,
            DeliveryStatus.FAILED: logging.WARNING,
        }[outcome.status]
        logger.log(
            level,
            "conversation %s: webhook delivery %s %s (attempt %d, %s)",
            delivery.conversation_id,
            delivery.id,
            outcome.status.value,
            attempt.number,
            error or result.status,
        )
        return outcome

    def _outcome(
        self,
        delivery: WebhookDelivery,
        result: HttpResult,
        attempt: DeliveryAttempt,
        now: datetime,
        *,
        interrupted: bool,
    ) -> WebhookDelivery:
        recorded = replace(
            delivery,
            last_attempt_at=attempt.attempted_at,
            last_status_code=attempt.status_code,
            last_error=attempt.error,
        )
        if interrupted:
            return replace(recorded, next_attempt_at=now)
        if result.ok:
            return replace(
                recorded, status=DeliveryStatus.DELIVERED, finished_at=now, next_attempt_at=now
            )
        failures = delivery.failures + 1
        retry_at = now + timedelta(seconds=retry_delay(failures, self.settings, self._rng))
        horizon = delivery.queued_at + timedelta(seconds=self.settings.horizon)
        limit = self.settings.max_attempts
        # Failures, not attempts: a redelivery starts its count again (``requeue`` resets
        # them), and attempts stay the key of the attempt log.
        if retry_at > horizon or (limit is not None and failures >= limit):
            return replace(
                recorded,
                status=DeliveryStatus.FAILED,
                failures=failures,
                finished_at=now,
                next_attempt_at=now,
            )
        return replace(recorded, failures=failures, next_attempt_at=retry_at)

    async def purge_round(self) -> int:
        """The dispatcher's purge: skipped while another process purges the log."""
        return await in_one_process(self._tx, "webhook-log", self.purge) or 0

    async def purge(self) -> int:
        """Drop deliveries finished longer than ``retention`` ago, and those of removed
        subscriptions: a batch of each per transaction, until a batch comes back short."""
        before = self._clock.now() - timedelta(seconds=self.settings.retention)
        removed = orphans = 0
        more_finished = more_orphans = True
        while more_finished or more_orphans:
            async with self._tx() as tx:
                finished = (
                    await tx.webhook_deliveries.purge(before, PURGE_BATCH) if more_finished else 0
                )
                # Staged for a subscription another process removed meanwhile: never due.
                orphaned = (
                    await tx.webhook_deliveries.purge_orphans(PURGE_BATCH) if more_orphans else 0
                )
                await tx.commit()
            removed += finished
            orphans += orphaned
            more_finished = more_finished and finished >= PURGE_BATCH
            more_orphans = more_orphans and orphaned >= PURGE_BATCH
        if removed:
            logger.info("removed %d finished webhook deliveries from the log", removed)
        if orphans:
            logger.info("removed %d webhook deliveries of removed subscriptions", orphans)
        return removed + orphans


async def _to_the_end(recording: Coroutine[object, object, _T]) -> _T:
    """Run ``recording`` to its end even if the caller is cancelled meanwhile; the
    cancellation is passed on once it is done."""
    task = asyncio.ensure_future(recording)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
