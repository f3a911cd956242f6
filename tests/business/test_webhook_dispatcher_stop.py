"""Stopping the webhook dispatcher while it claims: what it claimed is attempted (and
logged interrupted, due again at once), never left to its lease."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from business.webhook_delivery import INTERRUPTED
from business.webhook_dispatcher import WebhookDispatcher
from business.webhook_model import DeliveryStatus, DueDelivery, SubscriptionId
from business.webhook_ports import HttpResult
from tests.business.test_webhook_delivery import chat
from tests.business.webhook_support import make_hooks


async def test_a_stop_during_a_claim_leaves_no_claim_to_lapse() -> None:
    hooks = await make_hooks()
    await hooks.subscribe("message.created")
    await chat(hooks)
    deliveries = hooks.world.services.webhook_deliveries
    claim_due = deliveries.claim_due
    claimed = asyncio.Event()
    go_on = asyncio.Event()

    async def slow_claim(
        limit: int, busy: Mapping[SubscriptionId, int] | None = None
    ) -> list[DueDelivery]:
        due = await claim_due(limit, busy)  # committed: the deliveries are claimed
        if due:
            claimed.set()
            await go_on.wait()  # the stop comes now
        return due

    async def never_answers(url: str, body: bytes, headers: object, timeout: float) -> HttpResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    deliveries.claim_due = slow_claim  # type: ignore[method-assign]
    hooks.transport.post = never_answers  # type: ignore[method-assign]
    dispatcher = WebhookDispatcher(deliveries)
    dispatcher.start()
    await asyncio.wait_for(claimed.wait(), 5)

    stopping = asyncio.create_task(dispatcher.stop())
    await asyncio.sleep(0.05)
    go_on.set()
    await asyncio.wait_for(stopping, 10)

    (delivery,) = hooks.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.next_attempt_at == hooks.world.clock.now()  # due again at once
    assert [a.error for a in hooks.world.fakes.webhook_attempts[delivery.id]] == [INTERRUPTED]
