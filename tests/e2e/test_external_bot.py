"""An external bot end to end, as the integrator guide's walkthrough sets it up: keys
made with the CLI, the queue given an external bot and a webhook subscribed over REST,
on a real Prosody with a Socket.IO visitor and a scripted XMPP agent.

The integrator's bot (``tests.e2e.rest_bot``, a real aiohttp server) gets the signed
webhooks, greets and answers the visitor through ``POST …/messages`` with a ``bot`` key,
and hands over with ``POST …/transfer`` when the visitor asks for a person; the agent's
offer carries the whole transcript, the bot's turns included; the agent answers, the
visitor ends, and the report says a bot handled it and an agent answered it."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import aiohttp
import pytest

from chat_engine.engine import Engine
from chat_engine.settings import Settings
from tests.chat_engine.test_cli import run
from tests.e2e.conftest import RegisterAgent
from tests.e2e.rest_bot import ANSWER, GREETING, HANDOVER, rest_bot
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from tests.e2e.test_webhooks import with_fast_webhooks

pytestmark = pytest.mark.e2e


def from_ava(text: str) -> Any:
    return lambda e: (
        e["type"] == "message" and e["from"] == {"kind": "bot", "name": "Ava"} and e["text"] == text
    )


def state(name: str) -> Any:
    return lambda e: e["type"] == "state.changed" and e["state"] == name


async def cli_key(settings: Settings, scope: str) -> str:
    """``chat-engine apikey create --tenant default --scope …``: its last line."""
    code, output = await asyncio.to_thread(
        run,
        [
            *("apikey", "create", "--tenant", "default", "--scope", scope),
            *("--name", f"walkthrough-{scope}", "--database-url", settings.database.url),
        ],
    )
    assert code == 0, output
    return output.splitlines()[-1]


async def test_an_external_bot_answers_over_rest_and_hands_over_to_an_agent(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    settings = with_fast_webhooks(engine_settings)
    account = register_agent("alice")
    engine = Engine(settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        assert engine.url is not None
        api = f"{engine.url}/api/v1"
        admin_key, bot_key = await cli_key(settings, "admin"), await cli_key(settings, "bot")
        admin = {"Authorization": f"Bearer {admin_key}"}
        async with aiohttp.ClientSession() as http, rest_bot(api, bot_key) as (bot, target):
            # The walkthrough: the queue's bot, then the webhook, with the admin key.
            async with http.patch(
                f"{api}/queues/support",
                json={"bot": {"kind": "external"}},
                headers=admin,
            ) as reply:
                assert reply.status == 200, await reply.text()
                assert (await reply.json())["bot"]["kind"] == "external"
            async with http.post(
                f"{api}/webhooks",
                json={
                    "url": target.url("/chat-events"),
                    "event_types": ["conversation.state_changed", "message.created"],
                    "description": "Ava",
                },
                headers=admin,
            ) as reply:
                assert reply.status == 201, await reply.text()
                bot.secret = (await reply.json())["secret"]
            assert bot.secret.startswith("whsec_")

            alice = await online_agent(engine, account, "Alice", cleanup, auto_accept=False)
            visitor = await new_visitor(engine, cleanup)
            conversation_id = await start_chat(visitor, "Where is my order 42?", name="Ivy")
            conv_jid = conversation_jid(engine, conversation_id)
            await wait_event(visitor, state("bot"))
            await wait_event(visitor, from_ava(GREETING))
            await wait_event(visitor, from_ava(ANSWER))
            assert alice.bodies_from(conv_jid) == []  # the bot goes first

            await visitor.ok(
                "message.send",
                {
                    "conversation_id": conversation_id,
                    "client_msg_id": "m-2",
                    "text": "Can I talk to a person?",
                },
            )
            await wait_event(visitor, from_ava(HANDOVER))
            queued = await wait_event(visitor, state("queued"))
            assert queued["queue_position"] == 1

            offer = await alice.wait_body("Reply to take this chat", sender=conv_jid, timeout=WAIT)
            transcript = [
                "[Ivy] Where is my order 42?",
                f"[Bot Ava] {GREETING}",
                f"[Bot Ava] {ANSWER}",
                "[Ivy] Can I talk to a person?",
                f"[Bot Ava] {HANDOVER}",
            ]
            places = [offer.body.find(line) for line in transcript]
            assert -1 not in places, offer.body
            assert places == sorted(places), offer.body  # in the order they were said
            alice.send(conv_jid, "Hi Ivy, Alice here. Let me look at order 42.")
            joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
            assert joined["participant"] == {"kind": "agent", "name": "Alice"}
            await wait_event(visitor, from_agent("Hi Ivy, Alice here. Let me look at order 42."))
            await visitor.ok("conversation.end", {"conversation_id": conversation_id})
            await wait_event(visitor, state("ended"))

            # The bot spoke only while the chat was with it, and every call succeeded.
            assert [(m, p.rsplit("/", 1)[1], s) for m, p, s in bot.calls] == [
                ("POST", "messages", 201),
                ("POST", "messages", 201),
                ("POST", "messages", 201),
                ("POST", "transfer", 200),
            ]
            # Every delivery was signed; the bot heard its own turns and the agent's too.
            for _ in range(200):
                if bot.states.get(conversation_id) == "ended":
                    break
                await asyncio.sleep(0.05)
            assert bot.states.get(conversation_id) == "ended"
            assert bot.refused == []
            heard = [
                (d["data"]["from"]["kind"], d["data"]["text"])
                for d in bot.documents
                if d["type"] == "message.created"
            ]
            assert heard[-1] == ("agent", "Hi Ivy, Alice here. Let me look at order 42.")
            assert ("bot", HANDOVER) in heard
            assert [d["data"]["state"] for d in bot.documents if "state" in d["data"]][:3] == [
                "bot",
                "queued",
                "active",
            ]

            # The report, as JSON and as CSV.
            one = f"{api}/reports/conversations/{conversation_id}"
            async with http.get(one, headers=admin) as reply:
                assert reply.status == 200, await reply.text()
                report = await reply.json()
            assert report["bot_handled"] is True
            assert report["outcome"] == "answered"
            assert report["agent_name"] == "Alice"
            assert (report["messages_visitor"], report["messages_agent"]) == (2, 1)
            async with http.get(
                f"{api}/reports/conversations", headers={**admin, "Accept": "text/csv"}
            ) as reply:
                assert reply.status == 200
                assert reply.content_type == "text/csv"
                rows = list(csv.DictReader(io.StringIO(await reply.text())))
            assert [(r["conversation_id"], r["bot_handled"], r["outcome"]) for r in rows] == [
                (conversation_id, "true", "answered")
            ]
    finally:
        await engine.stop()
