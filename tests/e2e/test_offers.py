"""Offers on a real Prosody: an unanswered offer times out, goes to the next agent and
sets the silent one not ready until they are available again; ``!decline`` passes it on."""

from __future__ import annotations

from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    new_visitor,
    online_agent,
    start_chat,
    until_ready,
    wait_event,
)

pytestmark = pytest.mark.e2e


async def test_an_unanswered_offer_goes_to_the_next_agent_and_a_declined_one_too(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, offer_timeout=2)
    )
    dora_account = register_agent("dora")
    dora = await online_agent(engine, dora_account, "Dora", cleanup, auto_accept=False)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Hello?", name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    offer = await dora.wait_for(lambda m: m.from_jid == conv_jid and "Hello?" in m.body)
    assert offer.body.endswith("(2 s)")

    # Dora says nothing: the offer is withdrawn, she is not ready.
    seen = len(dora.received)
    notice = await dora.wait_for(
        lambda m: m.from_jid == conv_jid and "Offer withdrawn" in m.body, after=seen, timeout=WAIT
    )
    assert "not ready" in notice.body
    await until_ready(engine, dora_account.jid, ready=False)

    # Eve is next (with time to answer); she declines, and Dora, available again, gets
    # it: never the same agent twice in a row, but Eve was the last to pass.
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, offer_timeout=60)
    )
    eve = await online_agent(engine, register_agent("eve"), "Eve", cleanup, auto_accept=False)
    await eve.wait_for(lambda m: m.from_jid == conv_jid and "Hello?" in m.body, timeout=WAIT)
    dora.presence("chat")
    await until_ready(engine, dora_account.jid)
    seen = len(dora.received)
    eve.send(conv_jid, "!decline")
    await eve.wait_for(lambda m: m.from_jid == conv_jid and "passed" in m.body, timeout=WAIT)
    await dora.wait_for(
        lambda m: m.from_jid == conv_jid and "Hello?" in m.body, after=seen, timeout=WAIT
    )
    dora.send(conv_jid, "!accept")
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Dora"}
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    seqs = [e["seq"] for e in synced["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
