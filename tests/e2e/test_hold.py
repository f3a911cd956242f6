"""Hold on a real Prosody, with a Socket.IO visitor: ``!hold`` parks the chat (the
visitor sees ``on_hold``) and frees the agent's place; the visitor writing again brings
it back to the agent, or, when the agent has no room, to the queue, where it waits for
that agent alone for the queue's reawaken window (``chats`` lists it), then goes to
anybody."""

from __future__ import annotations

import time
from typing import Any

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_adhoc import word
from tests.e2e.test_chat_flow import (
    WAIT,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from tests.visitor_client import Visitor
from xmpp_bridge import texts, texts_reawaken

pytestmark = pytest.mark.e2e


def state(name: str) -> Any:
    return lambda e: e["type"] == "state.changed" and e["state"] == name


async def say(visitor: Visitor, conversation_id: str, text: str) -> None:
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": f"m-{len(text)}", "text": text},
    )


async def test_hold_then_the_visitor_writes_and_the_chat_is_back_with_the_agent(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    alice = await online_agent(engine, register_agent("alice"), "Alice", cleanup, max_chats=1)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "I need to find my invoice", name="Ivy")
    conv_jid = conversation_jid(engine, conversation_id)
    await alice.wait_body("I need to find my invoice", sender=conv_jid, timeout=WAIT)
    await wait_event(visitor, state("active"))

    alice.send(conv_jid, "!hold")
    await alice.wait_body("This chat is on hold", sender=conv_jid, timeout=WAIT)
    await wait_event(visitor, state("on_hold"))

    # Alice's only place is free: a second visitor's chat is hers at once.
    other = await new_visitor(engine, cleanup)
    other_id = await start_chat(other, "Quick question", name="Otto")
    await alice.wait_body("Quick question", sender=conversation_jid(engine, other_id), timeout=WAIT)
    alice.send(conversation_jid(engine, other_id), "!end")
    await wait_event(other, state("ended"))

    # The visitor writes again: the chat comes back to Alice, who is told.
    seen = len(alice.received)
    await say(visitor, conversation_id, "Found it: INV-42")
    await alice.wait_for(
        lambda m: m.from_jid == conv_jid and m.body == "Found it: INV-42", after=seen, timeout=WAIT
    )
    await alice.wait_for(
        lambda m: m.from_jid == conv_jid and m.body == texts.CHAT_RETURNED, after=seen, timeout=WAIT
    )
    await wait_event(visitor, state("active"))
    alice.send(conv_jid, "Thanks, refund on its way")
    await wait_event(visitor, from_agent("Thanks, refund on its way"))

    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    states = [e["state"] for e in synced["events"] if e["type"] == "state.changed"]
    assert states[-2:] == ["on_hold", "active"]
    seqs = [e["seq"] for e in synced["events"]]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_with_no_room_the_held_chat_waits_in_the_queue_until_the_agent_has(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    bob = await online_agent(engine, register_agent("bob"), "Bob", cleanup, max_chats=1)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Where is my parcel?", name="Pia")
    conv_jid = conversation_jid(engine, conversation_id)
    await bob.wait_body("Where is my parcel?", sender=conv_jid, timeout=WAIT)
    bob.send(conv_jid, "!hold")
    await wait_event(visitor, state("on_hold"))

    # Bob takes another chat, so he has no room when the visitor writes again.
    other = await new_visitor(engine, cleanup)
    other_id = await start_chat(other, "Hi there", name="Quin")
    other_jid = conversation_jid(engine, other_id)
    await bob.wait_body("Hi there", sender=other_jid, timeout=WAIT)
    bob.send(conv_jid, "Still checking")
    await bob.wait_body("on hold: !unhold first", sender=conv_jid, timeout=WAIT)

    # Carol is ready and idle, yet the chat the visitor answers waits for Bob alone.
    carol = await online_agent(engine, register_agent("carol"), "Carol", cleanup)
    await say(visitor, conversation_id, "Any news?")
    left = await wait_event(visitor, lambda e: e["type"] == "participant.left")
    assert left["participant"] == {"kind": "agent", "name": "Bob"}
    queued = await wait_event(visitor, state("queued"))
    assert queued["queue_position"] == 1
    listed = await word(bob, engine.settings.xmpp.component_jid, "chats")
    assert f"{conv_jid} - Pia (queue support) - {texts_reawaken.RESERVED_MARK}, " in listed
    assert not any(m.from_jid == conv_jid for m in carol.received)

    # Bob ends the other chat: the waiting one is offered to him first, and he has it.
    seen = len(bob.received)
    bob.send(other_jid, "!end")
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Bob"}
    await bob.wait_for(
        lambda m: m.from_jid == conv_jid and "Any news?" in m.body, after=seen, timeout=WAIT
    )
    assert not any(m.from_jid == conv_jid for m in carol.received)


async def test_when_the_reawaken_window_ends_anybody_gets_the_answered_chat(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, reawaken_window=2)
    )
    dan = await online_agent(engine, register_agent("dan"), "Dan", cleanup, max_chats=1)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "My order is late", name="Rae")
    conv_jid = conversation_jid(engine, conversation_id)
    await dan.wait_body("My order is late", sender=conv_jid, timeout=WAIT)
    dan.send(conv_jid, "!hold")
    await wait_event(visitor, state("on_hold"))
    other = await new_visitor(engine, cleanup)
    other_id = await start_chat(other, "Hello", name="Sam")
    await dan.wait_body("Hello", sender=conversation_jid(engine, other_id), timeout=WAIT)
    eve = await online_agent(engine, register_agent("eve"), "Eve", cleanup)

    # Dan has no room when the visitor answers: it waits for him two seconds, then the
    # engine's clock gives it to Eve.
    await say(visitor, conversation_id, "Still waiting")
    await wait_event(visitor, state("queued"))
    queued_at = time.monotonic()
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Eve"}
    # Not at once (with no window Eve would have had it in milliseconds): the two
    # seconds, less what delivering the queued event took.
    assert time.monotonic() - queued_at > 1.0
    await eve.wait_for(lambda m: m.from_jid == conv_jid and "Still waiting" in m.body, timeout=WAIT)
