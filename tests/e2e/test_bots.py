"""A bot-first queue on a real Prosody, with a Socket.IO visitor and a scripted agent:
the bot greets, the visitor picks "Talk to a person", the agent's offer carries the
bot's part, the agent answers, ``!bot`` sends the visitor back and the bot greets again."""

from __future__ import annotations

from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from tests.business.bot_support import BOT_CONFIG
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from tests.visitor_client import Json
from xmpp_bridge import texts

pytestmark = pytest.mark.e2e


def from_bot(text: str) -> Any:
    return lambda e: (
        e["type"] == "message"
        and e["from"] == {"kind": "bot", "name": "Ava"}
        and (e["text"] == text)
    )


def state(name: str) -> Any:
    return lambda e: e["type"] == "state.changed" and e["state"] == name


async def test_bot_first_then_a_person_then_back_to_the_bot(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=BOT_CONFIG)
    )
    alice = await online_agent(engine, register_agent("alice"), "Alice", cleanup, auto_accept=False)
    visitor = await new_visitor(engine, cleanup)

    conversation_id = await start_chat(visitor, "Hello there", name="Ivy")
    conv_jid = conversation_jid(engine, conversation_id)
    greeting: Json = await wait_event(visitor, from_bot(BOT_CONFIG.greeting))
    labels = [reply["label"] for reply in greeting["quick_replies"]]
    assert labels == ["Opening hours", "Talk to a person"]
    assert alice.bodies_from(conv_jid) == []  # the bot goes first: nothing for Alice yet

    # The visitor clicks "Talk to a person": the widget sends the label.
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": labels[1]},
    )
    await wait_event(visitor, from_bot(BOT_CONFIG.handover_text))
    queued = await wait_event(visitor, state("queued"))
    assert queued["queue_position"] == 1

    offer = await alice.wait_body("Reply to take this chat", sender=conv_jid, timeout=WAIT)
    assert "[Ivy] Hello there" in offer.body
    assert f"[Bot Ava] {BOT_CONFIG.greeting} (options: Opening hours | Talk to a person)" in (
        offer.body
    )
    assert "[Ivy] Talk to a person" in offer.body
    assert f"[Bot Ava] {BOT_CONFIG.handover_text}" in offer.body

    alice.send(conv_jid, "Hi Ivy, Alice here. How can I help?")
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Alice"}
    await wait_event(visitor, from_agent("Hi Ivy, Alice here. How can I help?"))

    seen = len(alice.received)
    alice.send(conv_jid, "!bot")
    await alice.wait_for(
        lambda m: m.from_jid == conv_jid and m.body == texts.SENT_BACK_TO_BOT,
        after=seen,
        timeout=WAIT,
    )
    left = await wait_event(visitor, lambda e: e["type"] == "participant.left")
    assert left["participant"] == {"kind": "agent", "name": "Alice"}
    await wait_event(visitor, state("bot"))
    again = await wait_event(visitor, from_bot(BOT_CONFIG.greeting))
    assert [reply["label"] for reply in again["quick_replies"]] == labels

    # The bot answers again, and the whole chat is one gap-free stream.
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-3", "text": "Opening hours"},
    )
    await wait_event(visitor, from_bot("We are open 9-17, Mon-Fri."))
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    seqs = [e["seq"] for e in synced["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
    states = [e["state"] for e in synced["events"] if e["type"] == "state.changed"]
    assert states == ["bot", "queued", "active", "bot"]
