"""An integrator's use cases through the wired engine, on a real Prosody with a
slixmpp agent and a Socket.IO visitor: a bot's message reaches both (the agent sees it
named as a bot's), a transfer by the integrator reaches the offered agent, and its end
closes the chat on both sides. The REST routes will call exactly these services."""

from __future__ import annotations

from typing import Any

import pytest

from business.integrator_commands import (
    EndByIntegrator,
    PostIntegratorMessage,
    TransferByIntegrator,
)
from business.model import (
    DEFAULT_TENANT,
    ConversationId,
    Participant,
    ParticipantKind,
)
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)

pytestmark = pytest.mark.e2e

HELPER = Participant(kind=ParticipantKind.BOT, name="Helper", id="order-bot")


async def test_a_bots_message_reaches_the_visitor_and_the_agent_and_the_end_both(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    agent = await online_agent(engine, register_agent("alice"), "Alice", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Where is my order?")
    conv_jid = conversation_jid(engine, conversation_id)
    await agent.wait_for(lambda m: m.from_jid == conv_jid and "Where is my order?" in m.body)
    agent.send(conv_jid, "Let me ask the order system.")
    await wait_event(visitor, from_agent("Let me ask the order system."))

    cid = ConversationId(conversation_id)
    cmd = PostIntegratorMessage(
        tenant_id=DEFAULT_TENANT,
        conversation_id=cid,
        sender=HELPER,
        client_msg_id="order-42-shipped",
        text="Order 42 shipped today.",
    )
    posted = await engine.services.integrator_messages.post(cmd)
    assert await engine.services.integrator_messages.post(cmd) == posted  # a retry

    seen = await wait_event(
        visitor, lambda e: e["type"] == "message" and e["text"] == "Order 42 shipped today."
    )
    assert seen["from"] == {"kind": "bot", "name": "Helper"}
    assert seen["seq"] == posted.seq
    relayed = await agent.wait_body("Order 42 shipped today.", sender=conv_jid)
    assert relayed.body == "[Bot Helper] Order 42 shipped today."
    assert relayed.nick is None  # the visitor is the contact, not the bot

    await engine.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=cid, reason="answered by bot")
    )
    left = await wait_event(visitor, lambda e: e["type"] == "participant.left")
    assert left["participant"] == {"kind": "agent", "name": "Alice"}
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    await agent.wait_body("note: answered by bot", sender=conv_jid)
    await agent.wait_body("This chat has ended", sender=conv_jid)
    # The bot's message went once to each of them.
    assert agent.bodies_from(conv_jid).count("[Bot Helper] Order 42 shipped today.") == 1
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    texts = [e["text"] for e in synced["events"] if e["type"] == "message"]
    assert texts.count("Order 42 shipped today.") == 1


async def test_an_integrators_transfer_offers_the_chat_to_another_agent(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "I want to cancel", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "I want to cancel" in m.body)
    ben_account = register_agent("ben")
    ben = await online_agent(engine, ben_account, "Ben", cleanup, auto_accept=False)

    await engine.services.integrator_control.transfer(
        TransferByIntegrator(
            tenant_id=DEFAULT_TENANT,
            conversation_id=ConversationId(conversation_id),
            actor=HELPER,
            agent_address=ben_account.jid,
            note="cancellations are Ben's",
        )
    )

    offer = await ben.wait_for(lambda m: m.from_jid == conv_jid and "transfers" in m.body)
    assert offer.body.startswith("Helper transfers this chat to you: cancellations are Ben's")
    assert "I want to cancel" in offer.body
    ben.send(conv_jid, "Hi Vic, Ben here")
    await wait_event(visitor, from_agent("Hi Vic, Ben here"))
    await ann.wait_for(lambda m: m.from_jid == conv_jid and "Ben joined" in m.body)
