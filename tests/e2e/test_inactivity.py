"""Inactivity on a real Prosody, with a Socket.IO visitor and rules of a few seconds
(the queue keeps seconds; the CLI and REST take minutes): the agent who leaves the
visitor unanswered is reminded in the chat's window; the visitor who falls silent after
the agent's answer is asked whether they are still there, then the chat closes for
inactivity — the visitor sees the system messages and the end with its reason, the
agent sees them too."""

from __future__ import annotations

from typing import Any

import pytest

from business import commands as c
from business.inactivity_texts import alert_text, closed_text
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from xmpp_bridge import texts, texts_idle

pytestmark = pytest.mark.e2e


def system(text: str) -> Any:
    return lambda e: e["type"] == "message" and e["from"]["kind"] == "system" and e["text"] == text


async def test_the_agent_is_reminded_and_the_silent_visitors_chat_closes(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            agent_reply_reminder=2,
            visitor_idle_alert=2,
            visitor_idle_close=2,
        )
    )
    alice = await online_agent(engine, register_agent("alice"), "Alice", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Hello", name="Ivy")
    conv_jid = conversation_jid(engine, conversation_id)
    await alice.wait_body("Hello", sender=conv_jid, timeout=WAIT)

    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": "Anyone there?"},
    )
    reminder = texts_idle.idle_notice("en", "reply_reminder", 1)
    assert reminder is not None
    await alice.wait_body("Anyone there?", sender=conv_jid, timeout=WAIT)
    await alice.wait_body(reminder, sender=conv_jid, timeout=WAIT)

    alice.send(conv_jid, "Sorry, here now")
    await wait_event(visitor, lambda e: e["type"] == "message" and e["text"] == "Sorry, here now")
    # The visitor says nothing: alerted after 2 s, the chat closed 2 s later.
    await wait_event(visitor, system(alert_text("en")))
    await wait_event(visitor, system(closed_text("en")))
    ended = await wait_event(
        visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended"
    )
    assert ended["reason"] == "inactivity"
    await alice.wait_body(alert_text("en"), sender=conv_jid, timeout=WAIT)
    await alice.wait_body(closed_text("en"), sender=conv_jid, timeout=WAIT)
    await alice.wait_body(texts.CHAT_ENDED, sender=conv_jid, timeout=WAIT)
    stored = await engine.services.conversations.get_conversation(conversation_id)  # type: ignore[arg-type]
    assert stored.state.value == "ended"
    assert stored.idle_due_at is None
