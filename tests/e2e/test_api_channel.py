"""The API channel through the wired engine, on a real Prosody: an integrator's bridge
hands a WhatsApp visitor's message in by REST, the XMPP agent's offer says where the
visitor writes from, the agent takes it and answers, and the answer reaches the
integrator's webhook receiver (a real aiohttp server) with the channel and the
visitor's address, signed. A message the provider sends again is stored once."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from business import commands as c
from business.events import MessagePosted
from business.model import DEFAULT_TENANT, ApiKeyScope, ConversationId
from business.webhook_commands import CreateWebhook
from business.webhook_model import WebhookEventType
from chat_engine.engine import Engine
from chat_engine.settings import Settings
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import WAIT, conversation_jid, online_agent
from tests.e2e.test_webhooks import with_fast_webhooks
from tests.presentation.webhook_receiver import receiver

pytestmark = pytest.mark.e2e

ADDRESS = "+447700900123"


async def test_a_whatsapp_visitor_reaches_an_xmpp_agent_whose_answer_goes_out_by_webhook(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    settings = with_fast_webhooks(engine_settings)
    account = register_agent("wanda")
    async with receiver() as target:
        engine = Engine(settings)
        await engine.start()
        try:
            await engine.bridge.wait_connected(WAIT)
            services = engine.services
            sub = await services.webhooks.create(
                CreateWebhook(
                    tenant_id=DEFAULT_TENANT,
                    url=target.url(),
                    event_types=(WebhookEventType.MESSAGE_CREATED,),
                )
            )
            key = await services.api_keys.create(
                c.CreateApiKey(scope=ApiKeyScope.BOT, tenant_id=DEFAULT_TENANT, name="bridge")
            )
            agent = await online_agent(engine, account, "Wanda", cleanup, auto_accept=False)
            message = {
                "queue": "support",
                "external_id": ADDRESS,
                "provider": "whatsapp",
                "provider_message_id": "wamid.HBgM1",
                "text": "Hi, my parcel never came",
                "name": "Priya",
            }
            assert engine.url is not None
            url = f"{engine.url}/api/v1/channels/api/messages"
            headers = {"Authorization": f"Bearer {key.secret}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                async with http.post(url, json=message) as reply:
                    assert reply.status == 201, await reply.text()
                    first = await reply.json()
                conversation_id = first["conversation"]["id"]
                assert first["conversation"]["channel"] == "api"
                conv_jid = conversation_jid(engine, conversation_id)

                offer = await agent.wait_body("Hi, my parcel never came", sender=conv_jid)
                assert offer.body.startswith(
                    "New chat from Priya via whatsapp (API channel, queue support, waited"
                )
                # The provider sends it again (it missed our answer): stored once.
                async with http.post(url, json=message) as reply:
                    assert reply.status == 200, await reply.text()
                    again = await reply.json()
                assert again["message"] == first["message"]

            agent.send(conv_jid, "Sorry Priya, I'm looking into it")
            delivered = await target.wait_for(2, timeout=WAIT)
            documents = [got.verified(sub.secret) for got in delivered]
            said = [(d["data"]["from"]["kind"], d["data"]["text"]) for d in documents]
            assert said == [
                ("visitor", "Hi, my parcel never came"),
                ("agent", "Sorry Priya, I'm looking into it"),
            ]
            answer = documents[1]["data"]
            assert answer["conversation_id"] == conversation_id
            assert (answer["channel"], answer["provider"], answer["external_id"]) == (
                "api",
                "whatsapp",
                ADDRESS,
            )
            stored = await services.history.history(ConversationId(conversation_id))
            texts = [e.text for e in stored if isinstance(e, MessagePosted)]
            assert texts == ["Hi, my parcel never came", "Sorry Priya, I'm looking into it"]
            # The offer went once; the retried message did not reach the agent again.
            bodies = agent.bodies_from(conv_jid)
            assert sum("Hi, my parcel never came" in body for body in bodies) == 1
        finally:
            await engine.stop()
