"""The agent desk's own commands on a real Prosody with a slixmpp agent and a Socket.IO
visitor: notes, canned responses, history across two conversations, wrap-up codes
(required, refused, recorded), and an engine restart while an offer is open."""

from __future__ import annotations

from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId
from chat_engine.engine import Engine
from chat_engine.settings import Settings
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    until_ready,
    wait_event,
)

pytestmark = pytest.mark.e2e


async def test_notes_canned_history_and_wrap_up(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            wrap_up_codes=("resolved", "callback"),
            require_wrap_up=True,
        )
    )
    await engine.services.canned.add(
        c.AddCannedResponse(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            name="hello",
            text="Hello {visitor}, {agent} from {queue} here.",
        )
    )
    ann = await online_agent(engine, register_agent("ann"), "Ann", cleanup)
    visitor = await new_visitor(engine, cleanup)

    # The first conversation: a canned answer, a note, a refused and a recorded wrap-up.
    first = await start_chat(visitor, "My invoice is wrong", name="Vic")
    first_jid = conversation_jid(engine, first)
    await ann.wait_for(lambda m: m.from_jid == first_jid and "My invoice is wrong" in m.body)
    ann.send(first_jid, "!canned hello")
    await wait_event(visitor, from_agent("Hello Vic, Ann from support here."))
    ann.send(first_jid, "!note customer K4711, invoice 88")
    await ann.wait_for(lambda m: m.from_jid == first_jid and "Note saved" in m.body)
    ann.send(first_jid, "!end")
    refused = await ann.wait_for(lambda m: m.from_jid == first_jid and "resolved" in m.body)
    assert "callback" in refused.body
    ann.send(first_jid, "!end resolved credited")
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    synced = await visitor.ok("sync", {"conversation_id": first, "after_seq": 0})
    # "K4711": a bare number could turn up in a random id or a timestamp's microseconds.
    assert not any("K4711" in str(e) or "credited" in str(e) for e in synced["events"])

    # The second conversation: its history shows the first, with the note and outcome.
    second = await start_chat(visitor, "Still wrong", name="Vic")
    second_jid = conversation_jid(engine, second)
    await ann.wait_for(lambda m: m.from_jid == second_jid and "Still wrong" in m.body)
    seen = len(ann.received)
    ann.send(second_jid, "!history 10")
    history = await ann.wait_for(
        lambda m: m.from_jid == second_jid and "My invoice is wrong" in m.body, after=seen
    )
    assert "resolved" in history.body
    assert "customer K4711, invoice 88" in history.body
    assert "Still wrong" not in history.body  # only earlier conversations


async def test_an_offer_open_across_an_engine_restart_is_still_answerable(
    engine_settings: Settings, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    account = register_agent("bea")
    engine = Engine(engine_settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        bea = await online_agent(engine, account, "Bea", cleanup, auto_accept=False)
        visitor = await new_visitor(engine, cleanup)
        conversation_id = await start_chat(visitor, "Anyone?", name="Vic")
        conv_jid = conversation_jid(engine, conversation_id)
        await bea.wait_for(lambda m: m.from_jid == conv_jid and "Anyone?" in m.body)
        token = visitor.token
    finally:
        await engine.stop()

    engine = Engine(engine_settings)
    await engine.start()
    try:
        await engine.bridge.wait_connected(WAIT)
        await until_ready(engine, account.jid)
        offered = await engine.services.conversations.get_conversation(
            ConversationId(conversation_id)
        )
        assert offered.offered_to is not None  # the offer outlived the restart
        back = await new_visitor(engine, cleanup, token=token)
        bea.send(conv_jid, "Hi Vic, Bea here")
        await wait_event(back, from_agent("Hi Vic, Bea here"))
        synced = await back.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
        events = synced["events"]
        assert [e["type"] for e in events][-3:] == [
            "participant.joined",
            "state.changed",
            "message",
        ]
        assert events[-1]["text"] == "Hi Vic, Bea here"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finally:
        await engine.stop()
