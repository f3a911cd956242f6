"""Webhooks end to end below the wiring: chats driven through the real services on
SQLite and PostgreSQL, the outbox, the dispatcher and the aiohttp transport, received by
a real server on loopback that checks each signature with the ``standardwebhooks``
library. Retries after 500s and timeouts, the order per conversation, a restart with
deliveries pending, and the SSRF guard when the setting is off at delivery time."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from business.clock import SystemClock
from business.conversation import Conversation
from business.model import DEFAULT_TENANT
from business.webhook_commands import CreateWebhook, RotateWebhookSecret, UpdateWebhook
from business.webhook_dispatcher import WebhookDispatcher
from business.webhook_model import DeliveryId, DeliveryStatus, WebhookDelivery, WebhookSubscription
from business.webhook_settings import WebhookSettings
from data.database import Database
from presentation.webhook_transport import AiohttpWebhookTransport
from tests.data.test_message_path import second_process
from tests.harness import ALICE, World, make_world
from tests.presentation.webhook_receiver import Received, Receiver, receiver

FAST = WebhookSettings(
    allow_private_targets=True,
    timeout=0.5,
    first_retry=0.1,
    max_retry_interval=0.3,
    poll_interval=0.05,
)


@asynccontextmanager
async def engine(database: Database, settings: WebhookSettings = FAST) -> AsyncIterator[World]:
    """The services with the webhook dispatcher running, wired as ``chat_engine.engine``
    wires it."""
    transport = AiohttpWebhookTransport(allow_private=settings.allow_private_targets)
    world = await make_world(
        uow=database.unit_of_work, clock=SystemClock(), webhooks=settings, transport=transport
    )
    dispatcher = WebhookDispatcher(world.services.webhook_deliveries)
    world.services.webhook_outbox.on_committed(dispatcher.wake)
    world.publisher.subscribe(world.services.webhook_outbox)
    dispatcher.start()
    try:
        yield world
    finally:
        await dispatcher.stop()
        await transport.close()


async def subscribe(world: World, target: Receiver, *event_types: str) -> WebhookSubscription:
    return await world.services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url=target.url(), event_types=event_types)
    )


async def chat(world: World, *lines: str) -> Conversation:
    """A visitor's chat with Alice: the visitor opens with the first line, then the
    lines alternate between Alice and the visitor."""
    if not await world.agents.list_agents(DEFAULT_TENANT):
        await world.agent(ALICE, name="Alice", max_chats=10)
    conv = await world.start(await world.visitor(), lines[0])
    for n, line in enumerate(lines[1:]):
        if n % 2 == 0:
            await world.agent_says(ALICE, conv.id, line)
        else:
            await world.visitor_says(conv.visitor_id, conv.id, line)
    return conv


async def stored(world: World) -> dict[str, WebhookDelivery]:
    found = await world.services.webhooks.list_deliveries(DEFAULT_TENANT, limit=200)
    return {d.id: d for d in found}


async def settled(world: World, timeout: float = 10.0) -> dict[str, WebhookDelivery]:
    """The deliveries, once none is pending any more (the receiver answers before the
    dispatcher records it)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        deliveries = await stored(world)
        if all(d.status is not DeliveryStatus.PENDING for d in deliveries.values()):
            return deliveries
        assert asyncio.get_running_loop().time() < deadline, deliveries
        await asyncio.sleep(0.02)


def once_each(target: Receiver) -> list[Received]:
    """The 2xx-answered requests, after checking each delivery id got exactly one."""
    delivered = target.delivered
    counts = Counter(r.id for r in delivered)
    assert all(n == 1 for n in counts.values()), counts
    return delivered


def recipe_from_the_guide() -> Callable[[str, dict[str, str], bytes], bool]:
    """The by-hand check that docs/integrator-guide.md gives integrators, as printed."""
    guide = (Path(__file__).parents[2] / "docs" / "integrator-guide.md").read_text()
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", guide, re.S) if "def verify(" in b]
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # our own documentation, as printed
    verify = namespace["verify"]
    assert callable(verify)
    return verify  # type: ignore[no-any-return]


async def test_every_event_arrives_signed_as_standard_webhooks_says(database: Database) -> None:
    by_hand = recipe_from_the_guide()
    async with receiver() as target, engine(database) as world:
        sub = await subscribe(world, target)
        conv = await chat(world, "hello", "hi, Alice here", "thanks")
        expected = await stored(world)
        received = await target.wait_for(len(expected))
        for got in once_each(target):
            document = got.verified(sub.secret)
            assert by_hand(sub.secret, got.headers, got.body)
            assert not by_hand(sub.secret, got.headers, got.body + b" ")
            assert got.body.decode() == expected[got.id].body
            assert document["type"] == expected[got.id].event_type.value
            assert document["data"]["conversation_id"] == conv.id
        texts = [
            r.document["data"]["text"] for r in received if r.document["type"] == "message.created"
        ]
        assert texts == ["hello", "hi, Alice here", "thanks"]
        assert all(d.status is DeliveryStatus.DELIVERED for d in (await settled(world)).values())

        # After a rotation, both secrets verify while the old one is kept.
        rotated = await world.services.webhooks.rotate_secret(
            RotateWebhookSecret(tenant_id=DEFAULT_TENANT, subscription_id=sub.id)
        )
        await world.visitor_says(conv.visitor_id, conv.id, "one more")
        (last,) = (await target.wait_for(len(expected) + 1))[len(expected) :]
        assert len(last.headers["webhook-signature"].split(" ")) == 2
        assert last.verified(rotated.secret) == last.verified(sub.secret)
        assert by_hand(rotated.secret, last.headers, last.body)
        assert by_hand(sub.secret, last.headers, last.body)


async def test_a_target_answering_500_is_retried_until_it_takes_it(database: Database) -> None:
    seen: Counter[str] = Counter()

    def flaky(received: Received) -> tuple[int, float]:
        seen[received.id] += 1
        return (500, 0.0) if seen[received.id] <= 2 else (200, 0.0)

    async with receiver(flaky) as target, engine(database) as world:
        sub = await subscribe(world, target, "message.created")
        await chat(world, "hello")
        (delivered,) = await target.wait_for(1)
        await settled(world)
        tries = [r for r in target.received if r.id == delivered.id]
        assert [r.status for r in tries] == [500, 500, 200]
        assert all(r.verified(sub.secret) for r in tries)
        # Each retry waited (0.1 s, then 0.2 s, each jittered down to half at most).
        gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
        assert gaps[0] >= 0.04
        assert gaps[1] >= 0.09
        log = await world.services.webhooks.get_delivery(DEFAULT_TENANT, DeliveryId(delivered.id))
        assert [(a.number, a.status_code) for a in log.attempts] == [(1, 500), (2, 500), (3, 200)]
        assert log.attempts[0].error == "HTTP 500: answer 500"
        assert log.delivery.status is DeliveryStatus.DELIVERED


async def test_a_target_that_times_out_is_retried(database: Database) -> None:
    seen: Counter[str] = Counter()

    def slow_at_first(received: Received) -> tuple[int, float]:
        seen[received.id] += 1
        return (200, 2.0) if seen[received.id] == 1 else (200, 0.0)

    async with receiver(slow_at_first) as target, engine(database) as world:
        await subscribe(world, target, "message.created")
        await chat(world, "hello")
        (delivered,) = await target.wait_for(1)
        await settled(world)
        log = await world.services.webhooks.get_delivery(DEFAULT_TENANT, DeliveryId(delivered.id))
        assert [(a.status_code, a.error) for a in log.attempts] == [
            (None, "timed out after 0.5 s"),
            (200, None),
        ]
        assert 400 <= log.attempts[0].duration_ms < 1500


async def test_each_conversation_arrives_in_order_whatever_fails(database: Database) -> None:
    rng = random.Random(20261201)

    def unreliable(received: Received) -> tuple[int, float]:
        return (503, 0.0) if rng.random() < 0.4 else (204, 0.0)

    async with receiver(unreliable) as target, engine(database) as world:
        await subscribe(world, target)
        first = await chat(world, "one")
        second = await chat(world, "two")
        for n in range(4):
            await world.visitor_says(first.visitor_id, first.id, f"first {n}")
            await world.visitor_says(second.visitor_id, second.id, f"second {n}")
        deliveries = await stored(world)
        await target.wait_for(len(deliveries), timeout=60)
        once_each(target)
        place = {i: (d.conversation_id, d.pos, d.part) for i, d in deliveries.items()}
        delivered_at = {r.id: r.at for r in target.delivered}
        for conv in (first.id, second.id):
            arrivals = [place[r.id][1:] for r in target.delivered if place[r.id][0] == conv]
            assert arrivals == sorted(arrivals)
            assert len(arrivals) == len([p for p in place.values() if p[0] == conv])
        # Nothing of a conversation was even tried before everything earlier of it was
        # delivered.
        for request in target.received:
            conv, pos, part = place[request.id]
            for other, (other_conv, other_pos, other_part) in place.items():
                if other_conv == conv and (other_pos, other_part) < (pos, part):
                    assert delivered_at[other] < request.at


async def test_undelivered_webhooks_survive_a_restart_and_arrive_once(
    database: Database,
) -> None:
    down = True

    def answer(received: Received) -> tuple[int, float]:
        return (503, 0.0) if down else (204, 0.0)

    async with receiver(answer) as target:
        async with engine(database) as world:
            await subscribe(world, target)
            conv = await chat(world, "hello", "hi there")
            staged = await stored(world)
            while not target.received:  # attempted, and refused
                await target.arrived.wait()
        # Stopped with everything pending; more happens while no dispatcher runs.
        assert all(d.status is DeliveryStatus.PENDING for d in staged.values())
        idle = await make_world(uow=database.unit_of_work, clock=SystemClock(), webhooks=FAST)
        await idle.agent_says(ALICE, conv.id, "still here")
        down = False
        # A new process on the same data: its own caches and connections.
        restarted = await second_process(database)
        try:
            async with engine(restarted) as world:
                await world.visitor_says(conv.visitor_id, conv.id, "are you there?")
                everything = await stored(world)
                assert set(staged) < set(everything)
                await target.wait_for(len(everything))
                delivered = once_each(target)
                assert {r.id for r in delivered} == set(everything)
                assert all(
                    d.status is DeliveryStatus.DELIVERED for d in (await settled(world)).values()
                )
        finally:
            await restarted.dispose()


async def test_a_loopback_target_is_refused_at_delivery_when_not_allowed(
    database: Database,
) -> None:
    async with receiver() as target:
        async with engine(database) as world:
            await world.services.webhooks.create(
                CreateWebhook(
                    tenant_id=DEFAULT_TENANT,
                    url=target.url(),
                    event_types=("message.created",),
                    enabled=False,
                )
            )
        # The operator turned private targets off since (or DNS now points inside).
        strict = dataclasses.replace(FAST, allow_private_targets=False)
        async with engine(database, strict) as world:
            (sub,) = await world.services.webhooks.list(DEFAULT_TENANT)
            await world.services.webhooks.update(
                UpdateWebhook(tenant_id=sub.tenant_id, subscription_id=sub.id, enabled=True)
            )
            await chat(world, "hello")
            (delivery,) = (await stored(world)).values()
            for _ in range(200):
                log = await world.services.webhooks.get_delivery(DEFAULT_TENANT, delivery.id)
                if len(log.attempts) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(log.attempts) >= 2
            for attempt in log.attempts:
                assert attempt.status_code is None
                assert attempt.error is not None
                assert "refused: 127.0.0.1 is a loopback address" in attempt.error
            assert log.delivery.status is DeliveryStatus.PENDING
        assert target.received == []
