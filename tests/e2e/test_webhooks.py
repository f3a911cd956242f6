"""Webhooks from the wired engine: a visitor over Socket.IO and an agent over XMPP chat,
the engine stops with deliveries pending at a target that is down, starts again, and
everything arrives, signed, exactly once per delivery id."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

from business.model import DEFAULT_TENANT
from business.webhook_commands import CreateWebhook
from business.webhook_model import DeliveryStatus
from chat_engine.engine import Engine
from chat_engine.settings import Settings
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import WAIT, conversation_jid, new_visitor, online_agent, start_chat
from tests.presentation.webhook_receiver import Received, receiver


def with_fast_webhooks(settings: Settings) -> Settings:
    webhooks = dataclasses.replace(
        settings.webhooks,
        allow_private_targets=True,  # the receiver is on loopback, as with chat-engine dev
        timeout=1.0,
        first_retry=0.2,
        max_retry_interval=0.5,
        poll_interval=0.1,
    )
    return dataclasses.replace(settings, webhooks=webhooks)


async def test_webhooks_pending_at_a_stop_arrive_after_the_restart(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    settings = with_fast_webhooks(engine_settings)
    down = True

    def answer(received: Received) -> tuple[int, float]:
        return (503, 0.0) if down else (204, 0.0)

    account = register_agent("hooks")
    async with receiver(answer) as target:
        engine = Engine(settings)
        await engine.start()
        try:
            await engine.bridge.wait_connected(WAIT)
            sub = await engine.services.webhooks.create(
                CreateWebhook(tenant_id=DEFAULT_TENANT, url=target.url(), event_types=())
            )
            agent = await online_agent(engine, account, "Hana", cleanup)
            visitor = await new_visitor(engine, cleanup)
            conversation_id = await start_chat(visitor, "Is my parcel lost?")
            conv_jid = conversation_jid(engine, conversation_id)
            await agent.wait_body("Is my parcel lost?", sender=conv_jid)
            agent.send(conv_jid, "Let me check")
            # The agent's message is staged; the first delivery of the chat is being
            # retried, and the rest wait behind it (order per conversation).
            for _ in range(200):
                staged = await engine.services.webhooks.list_deliveries(DEFAULT_TENANT)
                if any('"from":{"kind":"agent"' in d.body for d in staged) and target.received:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"not staged: {staged}")
            first = min(staged, key=lambda d: (d.pos, d.part))
            assert {r.id for r in target.received} == {first.id}
            token = visitor.token
        finally:
            await engine.stop()
        assert target.delivered == []

        down = False
        engine = Engine(settings)
        await engine.start()
        try:
            back = await new_visitor(engine, cleanup, token=token)
            await back.ok(
                "message.send",
                {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "Thanks!"},
            )
            webhooks = engine.services.webhooks
            staged = await webhooks.list_deliveries(DEFAULT_TENANT, limit=200)
            await target.wait_for(len(staged), timeout=WAIT)
            counts = Counter(r.id for r in target.delivered)
            assert counts == Counter({d.id: 1 for d in staged})
            texts = []
            for got in target.delivered:
                document = got.verified(sub.secret)
                if document["type"] == "message.created":
                    texts.append((document["data"]["from"]["kind"], document["data"]["text"]))
            assert texts == [
                ("visitor", "Is my parcel lost?"),
                ("agent", "Let me check"),
                ("visitor", "Thanks!"),
            ]
            for _ in range(100):
                pending = await webhooks.backlog(DEFAULT_TENANT)
                if pending == 0:
                    break
                await asyncio.sleep(0.05)
            assert pending == 0
            finished = await webhooks.list_deliveries(DEFAULT_TENANT, limit=200)
            assert {d.status for d in finished} == {DeliveryStatus.DELIVERED}
        finally:
            await engine.stop()
