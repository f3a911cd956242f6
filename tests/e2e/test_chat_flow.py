"""The wired engine on a real Prosody: scripted XMPP agents, real Socket.IO visitors.

What a customer-service team would notice if it broke: the offer reaches the agent,
messages and typing go both ways, `!end` ends the chat, visitors wait in line while no
agent is ready, and neither an engine restart nor a Prosody restart loses a message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId
from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import Settings
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import AgentAccount, RegisterAgent, RestartProsody
from tests.visitor_client import Json, Visitor

pytestmark = pytest.mark.e2e

WAIT = 20.0


async def eventually(check: Callable[[], Any], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def add_agent(
    engine: Engine, account: AgentAccount, name: str, max_chats: int = 2, auto_accept: bool = True
) -> None:
    """Taking offers at once unless told otherwise: most of these tests are about what
    follows; the offers themselves are tried with ``auto_accept=False``."""
    await engine.services.agents.add_agent(
        c.AddAgent(
            address=account.jid,
            queues=(DEFAULT_QUEUE,),
            max_chats=max_chats,
            tenant_id=DEFAULT_TENANT,
            name=name,
            auto_accept=auto_accept,
        )
    )


async def until_ready(engine: Engine, jid: str, ready: bool = True) -> None:
    async def check() -> bool:
        agent = await engine.services.agents.find_agent(jid)
        return agent is not None and agent.ready is ready

    await eventually(check, f"{jid} is {'ready' if ready else 'not ready'}")


async def online_agent(
    engine: Engine,
    account: AgentAccount,
    name: str,
    cleanup: list[Any],
    max_chats: int = 2,
    auto_accept: bool = True,
) -> ScriptedAgent:
    """An agent configured in queue `support`, logged in, subscribed and ready."""
    await add_agent(engine, account, name, max_chats, auto_accept)
    agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(agent)
    await agent.connect()
    agent.subscribe(queue_jid(engine))
    await until_ready(engine, account.jid)
    return agent


def queue_jid(engine: Engine) -> str:
    return f"{DEFAULT_QUEUE}@{engine.settings.xmpp.component_jid}"


def conversation_jid(engine: Engine, conversation_id: str) -> str:
    return f"c-{conversation_id}@{engine.settings.xmpp.component_jid}"


async def new_visitor(engine: Engine, cleanup: list[Any], token: str | None = None) -> Visitor:
    assert engine.url is not None
    visitor = Visitor(url=engine.url)
    cleanup.append(visitor)
    auth: Json = {"tenant": "default"}
    if token is not None:
        auth["visitor_token"] = token
    await visitor.connect(auth)
    return visitor


async def wait_event(visitor: Visitor, predicate: Callable[[Json], bool]) -> Json:
    async def find() -> Json:
        while True:
            event = await visitor.events.get()
            if predicate(event):
                return event

    return await asyncio.wait_for(find(), WAIT)


def from_agent(text: str) -> Callable[[Json], bool]:
    return lambda e: e["type"] == "message" and e["from"]["kind"] == "agent" and e["text"] == text


async def start_chat(visitor: Visitor, text: str, name: str = "Maria") -> str:
    ack = await visitor.ok(
        "conversation.start",
        {
            "form": {"name": name},
            "context": {
                "page_url": "https://shop.example/pricing",
                "page_title": "Pricing",
                "custom": {"plan": "pro"},
            },
            "message": {"client_msg_id": f"first-{name}", "text": text},
        },
    )
    return str(ack["conversation"]["id"])


async def test_visitor_and_agent_chat_both_ways_with_typing_and_end(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    agent = await online_agent(engine, register_agent("alice"), "Alice", cleanup, auto_accept=False)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Do you ship to Norway?")
    conv_jid = conversation_jid(engine, conversation_id)

    # The offer: first message from the conversation JID, with the visitor's details.
    offer = await agent.wait_for(lambda m: m.from_jid == conv_jid and bool(m.body), timeout=WAIT)
    assert "Do you ship to Norway?" in offer.body
    assert "Maria" in offer.body
    assert offer.nick == "Maria"
    assert "Pricing" in offer.body
    assert "https://shop.example/pricing" in offer.body
    assert offer.body.endswith("Reply to take this chat, or !decline. (20 s)")
    # Offered, not yet taken: the visitor still waits in the queue.
    state = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert not any(e["type"] == "participant.joined" for e in state["events"])

    # Replying takes the chat: the visitor sees Alice join, then her answer.
    agent.send(conv_jid, "Yes, we do! Shipping takes 3 days.")
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Alice"}
    reply = await wait_event(visitor, from_agent("Yes, we do! Shipping takes 3 days."))
    assert reply["from"]["name"] == "Alice"

    # Typing, both ways.
    await visitor.ok("typing", {"conversation_id": conversation_id, "state": "composing"})
    await agent.wait_for(lambda m: m.from_jid == conv_jid and m.chat_state == "composing")
    agent.chat_state(conv_jid, "composing")
    typing = await asyncio.wait_for(visitor.typing.get(), WAIT)
    assert typing["conversation_id"] == conversation_id
    assert typing["from"] == {"kind": "agent", "name": "Alice"}
    assert typing["state"] == "composing"

    # The visitor goes to another page: Alice gets a short notice (after a short wait
    # that coalesces moves).
    moved = {"page_url": "https://shop.example/checkout", "page_title": "Checkout"}
    await visitor.ok("context.update", moved)
    await agent.wait_body(
        "Visitor moved to: Checkout - https://shop.example/checkout", sender=conv_jid
    )

    # A retried message is one row and one stanza.
    payload = {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "And to Sweden?"}
    first = await visitor.ok("message.send", payload)
    again = await visitor.ok("message.send", payload)
    assert first == again
    await visitor.ok(
        "message.send", {"conversation_id": conversation_id, "client_msg_id": "m-3", "text": "Ok"}
    )
    await agent.wait_body("Ok", sender=conv_jid)
    assert agent.bodies_from(conv_jid).count("And to Sweden?") == 1

    # What reached Alice is confirmed by Prosody (the echo the engine sends itself comes
    # back) and her delivery cursor stored: a restart would not send it again.
    async def delivered() -> bool:
        stored = await engine.services.conversations.get_conversation(
            ConversationId(conversation_id)
        )
        return stored.agent_delivered_pos == stored.last_pos

    await eventually(delivered, "the delivery cursor reached the last message")

    seen = len(agent.received)
    agent.send(conv_jid, "!help")
    help_reply = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and "!end" in m.body, after=seen
    )
    assert "!help" in help_reply.body

    agent.send(conv_jid, "!end")
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    seqs = [e["seq"] for e in synced["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    texts = [e["text"] for e in synced["events"] if e["type"] == "message"]
    assert texts == [
        "Do you ship to Norway?",
        "Yes, we do! Shipping takes 3 days.",
        "And to Sweden?",
        "Ok",
    ]
    refused = await visitor.call(
        "message.send", {"conversation_id": conversation_id, "client_msg_id": "m-4", "text": "?"}
    )
    assert refused["ok"] is False
    assert refused["error"]["code"] == "invalid_input"


async def test_visitors_queue_until_an_agent_is_ready_then_get_assigned_in_order(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    account = register_agent("bob")
    await add_agent(engine, account, "Bob", max_chats=1)
    first = await new_visitor(engine, cleanup)
    second = await new_visitor(engine, cleanup)
    first_id = await start_chat(first, "I was here first", name="Ann")
    second_id = await start_chat(second, "Me too", name="Ben")
    queued = await wait_event(second, lambda e: e["type"] == "state.changed")
    assert queued["state"] == "queued"
    assert queued["queue_position"] == 2

    # Bob comes online: the longest-waiting visitor gets him, the other moves up.
    agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(agent)
    await agent.connect()
    agent.subscribe(queue_jid(engine))
    first_jid = conversation_jid(engine, first_id)
    await agent.wait_body("I was here first", sender=first_jid)
    await wait_event(first, lambda e: e["type"] == "participant.joined")
    moved = await wait_event(second, lambda e: e["type"] == "state.changed")
    assert moved == {**moved, "state": "queued", "queue_position": 1}

    # Bob is at capacity; when he ends the first chat, the second is his.
    agent.send(first_jid, "!end")
    second_jid = conversation_jid(engine, second_id)
    offer = await agent.wait_body("Me too", sender=second_jid)
    assert offer.nick == "Ben"
    await wait_event(second, lambda e: e["type"] == "participant.joined")


async def test_agent_going_away_stops_new_offers(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    account = register_agent("carol")
    agent = await online_agent(engine, account, "Carol", cleanup)
    agent.presence("away")
    await until_ready(engine, account.jid, ready=False)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Anyone there?")
    queued = await wait_event(visitor, lambda e: e["type"] == "state.changed")
    assert queued["state"] == "queued"
    agent.presence("chat")
    await agent.wait_body("Anyone there?", sender=conversation_jid(engine, conversation_id))


async def test_engine_restart_mid_conversation_loses_nothing(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    account = register_agent("dave")
    engine = Engine(engine_settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        agent = await online_agent(engine, account, "Dave", cleanup)
        visitor = await new_visitor(engine, cleanup)
        conversation_id = await start_chat(visitor, "Before the restart")
        conv_jid = conversation_jid(engine, conversation_id)
        await agent.wait_body("Before the restart", sender=conv_jid)
        acked = await visitor.ok(
            "message.send",
            {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "Second"},
        )
        await agent.wait_body("Second", sender=conv_jid)
        token = visitor.token
    finally:
        await engine.stop()

    engine = Engine(engine_settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        # The agent did nothing: the engine relearns his presence from the stored
        # subscription instead of cancelling it.
        await until_ready(engine, account.jid)
        back = await new_visitor(engine, cleanup, token=token)
        assert back.session["visitor_id"] == visitor.session["visitor_id"]
        summary = back.session["conversations"]
        assert [s["id"] for s in summary] == [conversation_id]
        synced = await back.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
        texts = [e["text"] for e in synced["events"] if e["type"] == "message"]
        assert texts == ["Before the restart", "Second"]
        # The widget retries a message it is unsure of: same answer, nothing new.
        retried = await back.ok(
            "message.send",
            {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "Second"},
        )
        assert retried == acked

        await back.ok(
            "message.send",
            {"conversation_id": conversation_id, "client_msg_id": "m-3", "text": "After"},
        )
        await agent.wait_body("After", sender=conv_jid)
        agent.send(conv_jid, "Welcome back")
        await wait_event(back, from_agent("Welcome back"))
        assert agent.bodies_from(conv_jid).count("Second") == 1
    finally:
        await engine.stop()


async def test_prosody_restart_component_reattaches_and_the_chat_goes_on(
    engine: Engine,
    prosody: ProsodyServer,
    restart_prosody: RestartProsody,  # brings Prosody back whatever happens here
    register_agent: RegisterAgent,
    cleanup: list[Any],
) -> None:
    account = register_agent("erin")
    agent = await online_agent(engine, account, "Erin", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Hello before")
    conv_jid = conversation_jid(engine, conversation_id)
    await agent.wait_body("Hello before", sender=conv_jid)

    await prosody.astop()
    await agent.disconnect()
    # Acknowledged while the XMPP server is down: stored, and sent once it is back.
    ack = await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "While down"},
    )
    assert ack["message"]["seq"] > 0
    await prosody.astart(timeout=30)
    await engine.bridge.wait_connected(WAIT)

    agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(agent)
    await agent.connect()
    await agent.wait_body("While down", sender=conv_jid)
    agent.send(conv_jid, "Got it")
    await wait_event(visitor, from_agent("Got it"))
    await until_ready(engine, account.jid)
    assert agent.bodies_from(conv_jid).count("While down") == 1
