"""PII redaction, wired, on a real Prosody: the agent's XMPP client receives the card
number the visitor typed masked (in the offer and in later messages), the visitor's
ack and echo carry the same masked text, and the agent's own card number reaches the
visitor masked."""

from __future__ import annotations

from typing import Any

import pytest

from chat_engine.engine import Engine
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

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
MASKED = "**** **** **** 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
IBAN_MASKED = "**** **** **** **** **30 00"


async def test_the_agent_receives_what_the_visitor_typed_masked(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    agent = await online_agent(engine, register_agent("alice"), "Alice", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, f"my card {CARD} was charged twice")
    conv_jid = conversation_jid(engine, conversation_id)

    offer = await agent.wait_for(lambda m: m.from_jid == conv_jid and bool(m.body), timeout=WAIT)
    assert f"my card {MASKED} was charged twice" in offer.body
    assert CARD not in offer.body

    sent = {"conversation_id": conversation_id, "client_msg_id": "m-2", "text": f"IBAN {IBAN}"}
    ack = await visitor.ok("message.send", sent)
    assert ack["message"]["text"] == f"IBAN {IBAN_MASKED}"
    echo = await wait_event(
        visitor, lambda e: e["type"] == "message" and e.get("client_msg_id") == "m-2"
    )
    assert echo["text"] == f"IBAN {IBAN_MASKED}"
    await agent.wait_body(f"IBAN {IBAN_MASKED}", sender=conv_jid)

    agent.send(conv_jid, f"Refunded to {CARD}.")
    await wait_event(visitor, from_agent(f"Refunded to {MASKED}."))
    assert not any(CARD in body or IBAN in body for body in agent.bodies_from(conv_jid))
