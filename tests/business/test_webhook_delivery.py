"""Sending the outbox (``business.webhook_delivery``): signatures, the retry policy, the
order per conversation, claims, the delivery log and redelivery, on the fakes with a
scripted transport and the fake clock."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from business import webhook_delivery
from business.conversation import Conversation
from business.errors import InvalidInput, InvalidTransition, NotFound
from business.model import DEFAULT_TENANT
from business.webhook_commands import Redeliver
from business.webhook_delivery import INTERRUPTED, retry_delay
from business.webhook_dispatcher import WebhookDispatcher
from business.webhook_model import DeliveryStatus, WebhookDelivery
from business.webhook_ports import HttpResult
from business.webhook_settings import WebhookSettings
from tests.business.webhook_support import OTHER, URL, Hooks, make_hooks
from tests.fakes_webhooks import Post
from tests.harness import ALICE


async def chat(hooks: Hooks, text: str = "hello") -> Conversation:
    if ALICE not in hooks.world.fakes.agents:
        await hooks.world.agent(ALICE, name="Alice", max_chats=10)
    conv = await hooks.world.start(await hooks.world.visitor(), text=text)
    assert conv.agent_id == ALICE
    return conv


def stored(hooks: Hooks, delivery: WebhookDelivery) -> WebhookDelivery:
    return hooks.world.fakes.webhook_deliveries[delivery.id]


async def send_due(hooks: Hooks, limit: int = 100) -> list[WebhookDelivery | None]:
    """Claim what is due now and make each attempt, one after the other."""
    deliveries = hooks.world.services.webhook_deliveries
    return [await deliveries.attempt(due) for due in await deliveries.claim_due(limit)]


async def test_a_delivery_is_posted_signed_and_logged(hooks_with_messages: Hooks) -> None:
    hooks = hooks_with_messages
    (delivery,) = hooks.deliveries()
    sub = hooks.world.fakes.webhooks[delivery.subscription_id]
    hooks.world.advance(2)

    (done,) = await send_due(hooks)

    (post,) = hooks.transport.posts
    assert post.url == URL
    assert post.body == delivery.body.encode()
    assert post.headers["content-type"] == "application/json"
    assert post.headers["webhook-id"] == delivery.id
    sent_at = hooks.world.clock.now()
    assert post.headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert post.headers["webhook-signature"] == Webhook(sub.secret).sign(
        delivery.id, sent_at, delivery.body
    )
    assert post.timeout == hooks.settings.timeout
    assert done is not None
    assert done.status is DeliveryStatus.DELIVERED
    assert stored(hooks, delivery).status is DeliveryStatus.DELIVERED
    log = await hooks.world.services.webhooks.get_delivery(DEFAULT_TENANT, delivery.id)
    assert log.delivery.attempts == 1
    assert log.delivery.finished_at == sent_at
    assert [(a.number, a.status_code, a.error) for a in log.attempts] == [(1, 204, None)]
    assert await send_due(hooks) == []  # delivered once


@pytest.fixture
async def hooks_with_messages() -> Hooks:
    """One subscription to messages and one visitor message staged for it."""
    hooks = await make_hooks()
    await hooks.subscribe("message.created")
    await chat(hooks)
    return hooks


async def test_failures_are_retried_with_a_growing_jittered_wait(
    hooks_with_messages: Hooks,
) -> None:
    hooks = hooks_with_messages
    (delivery,) = hooks.deliveries()
    answers = iter(
        [
            HttpResult(status=500, error="HTTP 500: oops"),
            HttpResult(status=None, error="timed out after 10 s"),
            HttpResult(status=404),
        ]
    )
    hooks.transport.answer = lambda post: next(answers)
    waits = []
    for _ in range(3):
        await send_due(hooks)
        now = hooks.world.clock.now()
        after = stored(hooks, delivery)
        assert after.status is DeliveryStatus.PENDING
        waits.append((after.next_attempt_at - now).total_seconds())
        assert await send_due(hooks) == []  # not before its time
        hooks.world.advance(waits[-1])
    # The first retry within 30 s; each wait in [half, all] of 10 s, 20 s, 40 s.
    for wait, ceiling in zip(waits, (10, 20, 40), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    log = await hooks.world.services.webhooks.get_delivery(DEFAULT_TENANT, delivery.id)
    assert [(a.number, a.status_code, a.error) for a in log.attempts] == [
        (1, 500, "HTTP 500: oops"),
        (2, None, "timed out after 10 s"),
        (3, 404, "HTTP 404"),
    ]
    assert log.delivery.failures == 3
    assert log.delivery.last_error == "HTTP 404"
    hooks.transport.answer = lambda post: HttpResult(status=200)
    await send_due(hooks)
    assert stored(hooks, delivery).status is DeliveryStatus.DELIVERED
    assert len(hooks.transport.posts) == 4
    assert len({p.headers["webhook-id"] for p in hooks.transport.posts}) == 1


def test_the_wait_grows_to_its_cap_and_the_first_is_within_30_seconds() -> None:
    settings = WebhookSettings()
    rng = random.Random(7)
    firsts = [retry_delay(1, settings, rng) for _ in range(200)]
    assert all(5 <= w <= 10 for w in firsts)
    assert max(firsts) - min(firsts) > 3  # jittered
    assert all(1800 <= retry_delay(n, settings, rng) <= 3600 for n in (10, 20, 1000))


async def test_a_delivery_fails_for_good_past_the_horizon() -> None:
    hooks = await make_hooks(horizon=120.0)
    await hooks.subscribe("message.created")
    await chat(hooks)
    (delivery,) = hooks.deliveries()
    hooks.transport.answer = lambda post: HttpResult(status=503)
    for _ in range(20):
        await send_due(hooks)
        after = stored(hooks, delivery)
        if after.status is not DeliveryStatus.PENDING:
            break
        hooks.world.advance((after.next_attempt_at - hooks.world.clock.now()).total_seconds())
    after = stored(hooks, delivery)
    assert after.status is DeliveryStatus.FAILED
    assert after.finished_at is not None
    assert after.finished_at - delivery.created_at <= timedelta(seconds=120)
    # 10, 20, 40 s waits fit in two minutes, 80 s more would not.
    assert 3 <= after.attempts <= 5
    assert after.attempts == len(hooks.transport.posts)
    assert await send_due(hooks) == []


async def test_max_attempts_gives_up_earlier() -> None:
    hooks = await make_hooks(max_attempts=2)
    await hooks.subscribe("message.created")
    await chat(hooks)
    (delivery,) = hooks.deliveries()
    hooks.transport.answer = lambda post: HttpResult(status=500)
    await send_due(hooks)
    hooks.world.advance(60)
    await send_due(hooks)
    assert stored(hooks, delivery).status is DeliveryStatus.FAILED
    assert stored(hooks, delivery).attempts == 2


async def test_a_conversation_is_delivered_in_order_and_others_go_on(
    hooks_with_messages: Hooks,
) -> None:
    hooks = hooks_with_messages
    (first,) = hooks.deliveries()
    other = await chat(hooks, "another visitor")
    await hooks.world.agent_says(ALICE, first.conversation_id, "a later message")
    later = next(
        d
        for d in hooks.deliveries()
        if d.conversation_id == first.conversation_id and d.id != first.id
    )
    elsewhere = next(d for d in hooks.deliveries() if d.conversation_id == other.id)

    failing = {first.id}
    hooks.transport.answer = lambda post: HttpResult(
        status=500 if post.headers["webhook-id"] in failing else 204
    )
    await send_due(hooks)
    # The first failed: the later one of its conversation waits, the other chat goes.
    assert sorted(p.headers["webhook-id"] for p in hooks.transport.posts) == sorted(
        [first.id, elsewhere.id]
    )
    hooks.world.advance(30)
    failing.clear()
    await send_due(hooks)
    assert [p.headers["webhook-id"] for p in hooks.transport.posts][2:] == [first.id]
    await send_due(hooks)
    assert [p.headers["webhook-id"] for p in hooks.transport.posts][3:] == [later.id]


async def test_a_failed_delivery_no_longer_holds_up_its_conversation() -> None:
    hooks = await make_hooks(max_attempts=1)
    await hooks.subscribe("message.created")
    conv = await chat(hooks)
    await hooks.world.agent_says(ALICE, conv.id, "second")
    first, second = hooks.deliveries()
    hooks.transport.answer = lambda post: HttpResult(
        status=500 if post.headers["webhook-id"] == first.id else 200
    )
    await send_due(hooks)
    await send_due(hooks)
    assert stored(hooks, first).status is DeliveryStatus.FAILED
    assert stored(hooks, second).status is DeliveryStatus.DELIVERED


async def test_a_claim_is_made_once_and_lapses_if_its_attempt_never_ends(
    hooks_with_messages: Hooks,
) -> None:
    hooks = hooks_with_messages
    deliveries = hooks.world.services.webhook_deliveries
    other_process = hooks.world.another_process().services.webhook_deliveries
    (due,) = await deliveries.claim_due(10)
    assert await other_process.claim_due(10) == []  # claimed: not due for anyone
    # This process dies mid-attempt; after the lease another takes it over.
    hooks.world.advance(hooks.settings.lease + 1)
    (again,) = await other_process.claim_due(10)
    assert again.delivery.id == due.delivery.id
    assert again.delivery.attempts == 2
    assert await other_process.attempt(again) is not None
    # The late first attempt's outcome is not recorded over the second's.
    assert (
        await deliveries.record(due.delivery, HttpResult(status=500), hooks.world.clock.now())
        is None
    )
    assert stored(hooks, due.delivery).status is DeliveryStatus.DELIVERED
    assert [a.number for a in hooks.world.fakes.webhook_attempts[due.delivery.id]] == [2]


async def test_a_slow_target_takes_only_its_share_of_the_slots() -> None:
    hooks = await make_hooks(per_target_concurrency=2)
    slow = await hooks.subscribe("message.created", url="https://hooks.example.com/slow")
    fast = await hooks.subscribe("message.created", url="https://other.example.com/fast")
    for n in range(4):
        await chat(hooks, f"visitor {n}")
    deliveries = hooks.world.services.webhook_deliveries
    claimed = await deliveries.claim_due(10, {slow.id: 1})
    by_target = [d.delivery.subscription_id for d in claimed]
    assert by_target.count(slow.id) == 1  # one more beside the one in flight
    assert by_target.count(fast.id) == 2
    assert len(await deliveries.claim_due(10, {slow.id: 2, fast.id: 2})) == 0


async def test_redeliver_queues_a_finished_delivery_again(hooks_with_messages: Hooks) -> None:
    hooks = hooks_with_messages
    (delivery,) = hooks.deliveries()
    await send_due(hooks)
    webhooks = hooks.world.services.webhooks
    hooks.world.advance(5)
    again = await webhooks.redeliver(Redeliver(tenant_id=DEFAULT_TENANT, delivery_id=delivery.id))
    assert again.status is DeliveryStatus.PENDING
    assert again == stored(hooks, delivery)
    assert again.queued_at == again.next_attempt_at == hooks.world.clock.now()
    await send_due(hooks)
    assert [p.headers["webhook-id"] for p in hooks.transport.posts] == [delivery.id] * 2
    assert stored(hooks, delivery).attempts == 2
    with pytest.raises(NotFound):
        await webhooks.redeliver(Redeliver(tenant_id=OTHER, delivery_id=delivery.id))
    await webhooks.redeliver(Redeliver(tenant_id=DEFAULT_TENANT, delivery_id=delivery.id))
    with pytest.raises(InvalidTransition, match="pending"):
        await webhooks.redeliver(Redeliver(tenant_id=DEFAULT_TENANT, delivery_id=delivery.id))


async def test_the_delivery_log_pages_and_filters(hooks_with_messages: Hooks) -> None:
    hooks = hooks_with_messages
    webhooks = hooks.world.services.webhooks
    for n in range(4):
        hooks.world.advance(1)
        await chat(hooks, f"visitor {n}")
    await send_due(hooks, limit=2)
    everything = await webhooks.list_deliveries(DEFAULT_TENANT)
    assert len(everything) == 5
    assert [d.created_at for d in everything] == sorted(
        (d.created_at for d in everything), reverse=True
    )
    first = await webhooks.list_deliveries(DEFAULT_TENANT, limit=2)
    rest = await webhooks.list_deliveries(DEFAULT_TENANT, limit=10, before=first[-1].id)
    assert [*first, *rest] == list(everything)
    delivered = await webhooks.list_deliveries(DEFAULT_TENANT, status=DeliveryStatus.DELIVERED)
    assert len(delivered) == 2
    assert await webhooks.backlog(DEFAULT_TENANT) == 3
    assert await webhooks.backlog(OTHER) == 0
    assert await webhooks.list_deliveries(OTHER) == []
    with pytest.raises(InvalidInput):
        await webhooks.list_deliveries(DEFAULT_TENANT, limit=0)
    with pytest.raises(NotFound):
        await webhooks.get_delivery(OTHER, everything[0].id)


async def test_finished_deliveries_leave_the_log_after_the_retention() -> None:
    hooks = await make_hooks(retention=3600.0)
    await hooks.subscribe("message.created")
    await chat(hooks)
    await send_due(hooks)
    await chat(hooks, "still pending")
    deliveries = hooks.world.services.webhook_deliveries
    hooks.world.advance(3599)
    assert await deliveries.purge() == 0
    hooks.world.advance(2)
    assert await deliveries.purge() == 1
    assert [d.status for d in hooks.deliveries()] == [DeliveryStatus.PENDING]
    assert hooks.world.fakes.webhook_attempts == {}


async def test_deliveries_of_a_subscription_removed_elsewhere_leave_backlog_and_outbox() -> None:
    hooks = await make_hooks()
    subscription = await hooks.subscribe("message.created")
    await chat(hooks)
    # Another process removed the subscription after this one staged its deliveries (its
    # cached list still had it): only the row of the subscription goes.
    del hooks.world.fakes.webhooks[subscription.id]
    assert len(hooks.deliveries()) == 1
    assert await hooks.world.services.webhooks.backlog() == 0

    assert await hooks.world.services.webhook_deliveries.purge() == 1
    assert hooks.deliveries() == []


async def test_a_purge_goes_on_while_its_batches_come_back_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook_delivery, "PURGE_BATCH", 2)
    hooks = await make_hooks(retention=60.0)
    subscription = await hooks.subscribe("message.created")
    for number in range(3):
        await chat(hooks, f"message {number}")
    await send_due(hooks)
    gone = await hooks.subscribe("message.created")
    for number in range(3):
        await chat(hooks, f"later {number}")
    del hooks.world.fakes.webhooks[gone.id]
    finished = [
        d
        for d in hooks.deliveries()
        if d.subscription_id == subscription.id and d.status is not DeliveryStatus.PENDING
    ]
    assert len(finished) == 3
    hooks.world.advance(61)

    # Finished ones of the first subscription and the second's orphans, two at a time.
    removed = await hooks.world.services.webhook_deliveries.purge()

    assert removed == len(finished) + 3
    assert [d for d in hooks.deliveries() if d.subscription_id == gone.id] == []
    assert [d.status for d in hooks.deliveries()] == [DeliveryStatus.PENDING] * (
        len(hooks.deliveries())
    )


async def test_the_dispatcher_sends_what_is_staged_and_an_interrupted_attempt_comes_back() -> None:
    hooks = await make_hooks()
    await hooks.subscribe("message.created")
    posted = asyncio.Event()
    release = asyncio.Event()

    async def slow_post(url: str, body: bytes, headers: object, timeout: float) -> HttpResult:
        hooks.transport.posts.append(Post(url=url, body=body, headers={}, timeout=timeout))
        posted.set()
        await release.wait()
        return HttpResult(status=200)

    hooks.transport.post = slow_post  # type: ignore[method-assign]
    dispatcher = WebhookDispatcher(hooks.world.services.webhook_deliveries)
    outbox = hooks.world.services.webhook_outbox
    outbox.on_committed(dispatcher.wake)
    hooks.world.publisher.subscribe(outbox)
    dispatcher.start()
    try:
        await chat(hooks)
        await asyncio.wait_for(posted.wait(), 5)
    finally:
        await dispatcher.stop()
    (delivery,) = hooks.deliveries()
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.next_attempt_at == hooks.world.clock.now()  # due again at once
    assert delivery.failures == 0
    assert [a.error for a in hooks.world.fakes.webhook_attempts[delivery.id]] == [INTERRUPTED]

    # Started again (a restart): it goes out.
    release.set()
    dispatcher = WebhookDispatcher(hooks.world.services.webhook_deliveries)
    dispatcher.start()
    try:
        for _ in range(100):
            if hooks.deliveries()[0].status is DeliveryStatus.DELIVERED:
                break
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
    assert hooks.deliveries()[0].status is DeliveryStatus.DELIVERED
    assert hooks.deliveries()[0].attempts == 2


async def test_the_dispatcher_purges_even_when_claiming_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hooks = await make_hooks(retention=60.0)
    await hooks.subscribe("message.created")
    await chat(hooks)
    await send_due(hooks)
    hooks.world.advance(61)
    deliveries = hooks.world.services.webhook_deliveries

    async def failing(*args: object) -> list[object]:
        raise RuntimeError("the outbox cannot be read")

    monkeypatch.setattr(deliveries, "claim_due", failing)
    dispatcher = WebhookDispatcher(deliveries)
    dispatcher.start()
    try:
        for _ in range(200):
            if not hooks.deliveries():
                break
            await asyncio.sleep(0.01)
    finally:
        await dispatcher.stop()
    assert hooks.deliveries() == []
