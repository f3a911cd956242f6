"""Read markers both ways, corrections and files on a real Prosody, with a slixmpp
agent and the Socket.IO visitor client (AGENT-DESK.md, "Receipts, markers,
corrections, files")."""

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

URL = "https://files.example/invoice.pdf"


async def test_markers_both_ways_corrections_and_files(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    alice = await online_agent(engine, register_agent("alice"), "Alice", cleanup)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Hello")
    conv_jid = conversation_jid(engine, conversation_id)
    await alice.wait_for(lambda m: m.from_jid == conv_jid and "Hello" in m.body, timeout=WAIT)

    # Visitor -> agent: markable, asks for a receipt; the agent's displayed marker
    # becomes a read the visitor sees.
    ack = await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "q-1", "text": "Where is it?"},
    )
    question = await alice.wait_for(
        lambda m: m.from_jid == conv_jid and m.body == "Where is it?", timeout=WAIT
    )
    assert question.markable
    assert question.receipt_requested
    alice.mark_displayed(conv_jid, question.id)
    read = await wait_event(visitor, lambda e: e["type"] == "read")
    assert read["up_to_seq"] == ack["message"]["seq"]
    assert read["by"] == {"kind": "agent", "name": "Alice"}

    # A correction of the agent's last message replaces it for the visitor.
    alice.send(conv_jid, "It ships on Monday", msg_id="a-1")
    original = await wait_event(visitor, from_agent("It ships on Monday"))
    alice.correct(conv_jid, "a-1", "It ships on Tuesday", msg_id="a-2")
    updated = await wait_event(visitor, lambda e: e["type"] == "message.updated")
    assert updated["replaces"] == original["id"]
    assert updated["text"] == "It ships on Tuesday"
    assert updated["from"] == {"kind": "agent", "name": "Alice"}

    # The visitor's read becomes a displayed marker for the agent's newest message.
    await visitor.ok("read", {"conversation_id": conversation_id, "seq": updated["seq"]})
    await alice.wait_displayed(conv_jid, "a-1", timeout=WAIT)

    # A file from the agent arrives as an attachment.
    alice.send_file(conv_jid, URL, msg_id="a-3")
    file = await wait_event(visitor, lambda e: e["type"] == "message" and e["attachments"])
    assert (file["text"], file["attachments"]) == ("", [URL])

    # Correcting anything but the last message is refused, clearly.
    seen = len(alice.received)
    alice.correct(conv_jid, "a-1", "It ships on Friday", msg_id="a-4")
    error = await alice.wait_for(
        lambda m: m.from_jid == conv_jid and m.error is not None, after=seen, timeout=WAIT
    )
    assert error.error == "bad-request"
    await alice.wait_for(
        lambda m: m.from_jid == conv_jid and "only your last message" in m.body,
        after=seen,
        timeout=WAIT,
    )
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    updates = [e for e in synced["events"] if e["type"] == "message.updated"]
    assert [u["text"] for u in updates] == ["It ships on Tuesday"]
    seqs = [e["seq"] for e in synced["events"]]
    assert seqs == list(range(1, len(seqs) + 1))
