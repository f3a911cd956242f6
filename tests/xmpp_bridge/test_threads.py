"""``!lock`` / ``!unlock`` from the agent's client (``business.threads``): confirmed in the
chat's window, the visitor refused while locked, and refusals with their reason (a live
queue, locking twice)."""

from __future__ import annotations

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.threads import ThreadRefused
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, body_of, from_agent, harness
from tests.xmpp_bridge.test_engine_words import ask
from xmpp_bridge import texts, texts_threads


async def test_lock_and_unlock_a_messaging_thread(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, max_chats=3)
    live = await world.start(await world.visitor(), "Hello")
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    thread = await world.start(await world.visitor(), "A question")
    assert thread.agent_id == ALICE
    await h.delivered()

    await h.receive(from_agent(thread.id, "!lock"))
    assert await h.bodies() == [texts_threads.THREAD_LOCKED]
    assert world.conv(thread.id).locked
    with pytest.raises(ThreadRefused):
        await world.visitor_says(thread.visitor_id, thread.id, "let me write")

    await h.receive(from_agent(thread.id, "!lock", stanza_id="s2"))
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert body_of(text) == ("Sorry: this thread is locked already (!unlock opens it).")

    await h.receive(from_agent(thread.id, "!unlock", stanza_id="s3"))
    assert await h.bodies() == [texts_threads.THREAD_UNLOCKED]
    assert not world.conv(thread.id).locked
    await world.visitor_says(thread.visitor_id, thread.id, "thanks")

    # A chat of a live queue cannot be locked (the mode is the queue's, now).
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="live")
    )
    await h.delivered()
    await h.receive(from_agent(live.id, "!lock", stanza_id="s4"))
    error, text = await h.delivered()
    assert body_of(text) == "Sorry: only a thread of a messaging queue can be locked."
    assert not world.conv(live.id).locked


async def test_newthread_opens_a_thread_to_the_visitor(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, max_chats=3)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    thread = await world.start(await world.visitor(), "A question")
    await h.delivered()

    await h.receive(from_agent(thread.id, "!newthread"))
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert body_of(text) == f"Sorry: {texts_threads.NEW_THREAD_EMPTY}."

    await h.receive(from_agent(thread.id, "!newthread Your refund went out today", stanza_id="s2"))
    confirmed, new_window, opening = await h.bodies()
    assert confirmed == texts_threads.THREAD_OPENED
    # The new thread reaches the agent as a chat of theirs, flagged as not the visitor's,
    # with the message they wrote in the other window, which this one never saw.
    assert new_window.startswith("New chat from")
    assert "identity_initiated_thread: false" in new_window
    assert opening == f"{texts_threads.OPENED_WITH}Your refund went out today"
    threads = await world.services.threads.threads(thread.visitor_id)
    opened = [t for t in threads if t.id != thread.id]
    assert [(t.preview, t.unread) for t in opened] == [("Your refund went out today", 1)]


async def test_chats_lists_a_parked_thread_as_on_hold(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, max_chats=3)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    thread = await world.start(await world.visitor(), "A question")
    world.advance(1)  # listed oldest first
    opened = await world.services.outbound_threads.open_thread(
        c.OpenThread(agent_id=ALICE, conversation_id=thread.id, text="News for you")
    )
    await h.delivered()

    reply = await ask(h, "chats")

    assert reply == texts.engine_chats(
        [
            (f"c-{thread.id}@chat.localhost", "Vera", "support", False),
            (f"c-{opened.id}@chat.localhost", "Vera", "support", False),
        ],
        parked={f"c-{opened.id}@chat.localhost"},
    )
    assert reply.endswith(" - on hold")
