"""Supervisors on a real Prosody, with slixmpp clients and a Socket.IO visitor: monitor a
chat and an agent, whisper (the agent sees it, the visitor never), barge in (the visitor
sees the supervisor join and reads them)."""

from __future__ import annotations

from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentRole
from chat_engine.engine import Engine
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from xmpp_bridge import texts

pytestmark = pytest.mark.e2e


async def test_monitor_whisper_and_barge(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup)
    sam_account = register_agent("sam")
    await engine.services.agents.add_agent(
        c.AddAgent(
            address=sam_account.jid,
            queues=(DEFAULT_QUEUE,),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    sam = ScriptedAgent(
        sam_account.jid, sam_account.password, host=sam_account.host, port=sam_account.port
    )
    cleanup.append(sam)
    await sam.connect()  # not subscribed to the queue: he takes no chats
    engine_jid = engine.settings.xmpp.component_jid

    # Sam monitors all of Ann's chats: a chat that starts afterwards comes to him too.
    sam.send(engine_jid, f"monitor {ann.jid}")
    await sam.wait_for(lambda m: m.from_jid == engine_jid and "You monitor Ann" in m.body)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "My order is late", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    await sam.wait_for(
        lambda m: m.from_jid == conv_jid and m.body == "[monitor] [Vic] My order is late"
    )
    ann.send(conv_jid, "Let me check")
    await wait_event(visitor, from_agent("Let me check"))
    await sam.wait_for(lambda m: m.body == "[monitor] [Ann] Let me check")

    sam.send(conv_jid, "!whisper offer free shipping")
    await sam.wait_for(lambda m: m.from_jid == conv_jid and m.body == texts.WHISPERED)
    await ann.wait_for(lambda m: m.body == "[whisper, Sam] offer free shipping")

    sam.send(conv_jid, "!barge")
    await wait_event(
        visitor, lambda e: e["type"] == "participant.joined" and e["participant"]["name"] == "Sam"
    )
    sam.send(conv_jid, "Hello Vic, I am Ann's team lead")
    await wait_event(visitor, from_agent("Hello Vic, I am Ann's team lead"))
    await ann.wait_for(lambda m: m.body == "[Sam] Hello Vic, I am Ann's team lead")

    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    events = synced["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert not any("free shipping" in str(e) for e in events)
    assert [e["participant"]["name"] for e in events if e["type"] == "participant.joined"] == [
        "Ann",
        "Sam",
    ]

    # Monitoring Ann stops: her next chat reaches her, not Sam.
    sam.send(engine_jid, f"unmonitor {ann.jid}")
    await sam.wait_for(lambda m: m.from_jid == engine_jid and "no longer monitor" in m.body)
    other = await new_visitor(engine, cleanup)
    next_id = await start_chat(other, "Second question", name="Wen")
    next_jid = conversation_jid(engine, next_id)
    await ann.wait_for(lambda m: m.from_jid == next_jid and "Second question" in m.body)
    ann.send(next_jid, "On it")
    await wait_event(other, from_agent("On it"))
    assert sam.bodies_from(next_jid) == []
