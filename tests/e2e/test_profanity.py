"""A real agent client: Profanity (the Debian package), driven in tmux, takes a chat.

The agent does only what a person at the keyboard would: subscribe to the queue, read the
offer in the conversation's window, answer it, end with a wrap-up code, and
hand the chat to a colleague with ``!transfer``. The visitor is a real Socket.IO client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from business import commands as c
from business.events import WrapUpRecorded
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId
from chat_engine.engine import Engine
from tests.e2e.conftest import AgentAccount, RegisterAgent
from tests.e2e.profanity import Profanity, require_profanity
from tests.e2e.test_chat_flow import (
    WAIT,
    add_agent,
    conversation_jid,
    from_agent,
    new_visitor,
    online_agent,
    queue_jid,
    start_chat,
    until_ready,
    wait_event,
)
from tests.visitor_client import Json, Visitor

pytestmark = pytest.mark.e2e

OFFER_FOOTER = "Reply to take this chat, or !decline."


ProfanityFor = Callable[[AgentAccount], Profanity]


@pytest.fixture
async def profanity_for(tmp_path: Path) -> AsyncIterator[ProfanityFor]:
    """``profanity_for(account)``: a Profanity (not started) for that account; every one is
    stopped after the test, however it ended."""
    require_profanity()
    clients: list[Profanity] = []

    def make(account: AgentAccount) -> Profanity:
        directory = tmp_path / f"profanity-{len(clients) + 1}"
        directory.mkdir()
        client = Profanity(
            directory,
            jid=account.jid,
            password=account.password,
            host=account.host,
            port=account.port,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.stop()


async def profanity_agent(
    engine: Engine, profanity_for: ProfanityFor, account: AgentAccount, name: str
) -> Profanity:
    """A configured agent (offers not taken at once) in Profanity, subscribed and ready."""
    await add_agent(engine, account, name, auto_accept=False)
    client = profanity_for(account)
    await client.start()
    queue = queue_jid(engine)
    await client.command(f"/sub request {queue}")
    # The engine subscribes back to learn the agent's presence; Profanity asks the person.
    await client.wait_for(f"Received authorization request from {queue}")
    await client.command(f"/sub allow {queue}")
    await until_ready(engine, account.jid)
    return client


async def stored_wrap_ups(engine: Engine, conversation_id: str) -> list[tuple[str | None, str]]:
    async with engine.database.unit_of_work() as uow:
        events = await uow.events.list_after_pos(ConversationId(conversation_id), 0, 1000)
    return [(e.code, e.by.name) for e in events if isinstance(e, WrapUpRecorded)]


async def offered_in_profanity(
    engine: Engine, client: Profanity, visitor: Visitor, first_words: str
) -> tuple[str, str]:
    """Start a chat; returns its id and JID once Profanity shows the whole offer."""
    conversation_id = await start_chat(visitor, first_words, name="Vic")
    conv_jid = conversation_jid(engine, conversation_id)
    # A message from a new address opens a window in the background; the console says
    # so. Switch to it, as the agent would, to read the offer.
    await client.wait_for(f"<< chat message: {conv_jid}")
    await client.open(conv_jid)
    screen = await client.wait_for(OFFER_FOOTER)
    assert first_words in screen
    assert "Vic" in screen
    return conversation_id, conv_jid


async def test_an_agent_in_profanity_takes_an_offer_by_replying_and_ends_with_a_wrap_up_code(
    profanity_for: ProfanityFor, engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            wrap_up_codes=("resolved", "callback"),
            require_wrap_up=True,
        )
    )
    pat = await profanity_agent(engine, profanity_for, register_agent("pat"), "Pat")
    visitor = await new_visitor(engine, cleanup)
    conversation_id, conv_jid = await offered_in_profanity(
        engine, pat, visitor, "My parcel never arrived"
    )
    # Offered, not taken: the visitor still waits.
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert not any(e["type"] == "participant.joined" for e in synced["events"])

    # Answering takes the chat: the visitor sees Pat join, then the answer.
    await pat.send(conv_jid, "Sorry to hear that, let me look it up.")
    joined = await wait_event(visitor, lambda e: e["type"] == "participant.joined")
    assert joined["participant"] == {"kind": "agent", "name": "Pat"}
    await wait_event(visitor, from_agent("Sorry to hear that, let me look it up."))

    # The visitor's messages reach Profanity's window.
    await visitor.ok(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": "v-2", "text": "Order 4711"},
    )
    await pat.wait_for("Order 4711")

    # The queue requires a code: a bare !end is refused with the codes, the chat goes on.
    await pat.send(conv_jid, "!end")
    await pat.wait_for("resolved, callback")
    assert await stored_wrap_ups(engine, conversation_id) == []

    await pat.send(conv_jid, "!end resolved")
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    await pat.wait_for("Wrap-up recorded: code resolved.")
    assert await stored_wrap_ups(engine, conversation_id) == [("resolved", "Pat")]
    # Ending is Pat leaving, for the visitor.
    await assert_visitor_saw(visitor, conversation_id, joined=["Pat"], left=["Pat"])


async def assert_visitor_saw(
    visitor: Visitor, conversation_id: str, *, joined: list[str], left: list[str]
) -> None:
    """The visitor's whole stream: gap-free, with exactly these agents joining and leaving,
    and nothing of the desk (offers, commands, notices) in it."""
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    events: list[Json] = synced["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    names = [e["participant"]["name"] for e in events if e["type"] == "participant.joined"]
    assert names == joined
    names = [e["participant"]["name"] for e in events if e["type"] == "participant.left"]
    assert names == left
    texts = [e["text"] for e in events if e["type"] == "message"]
    assert not any(text.startswith("!") or OFFER_FOOTER in text for text in texts)


# -- transfer -----------------------------------------------------------------------------
# AGENT-DESK.md: "!transfer <jid|queue> [note]" is an offer to that person; once
# accepted the new agent has the history and the note, the old one leaves, and the
# visitor sees one participant.left and one participant.joined.


async def test_an_agent_in_profanity_transfers_a_chat_to_a_colleague_who_ends_it(
    profanity_for: ProfanityFor, engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            wrap_up_codes=("resolved", "callback"),
            require_wrap_up=True,
        )
    )
    pat = await profanity_agent(engine, profanity_for, register_agent("pat"), "Pat")
    visitor = await new_visitor(engine, cleanup)
    conversation_id, conv_jid = await offered_in_profanity(
        engine, pat, visitor, "I want to change my plan"
    )
    await pat.send(conv_jid, "Hello! One moment please.")
    await wait_event(visitor, from_agent("Hello! One moment please."))

    # Quinn comes online only now, so the chat cannot have been offered to them before.
    quinn_account = register_agent("quinn")
    quinn = await online_agent(engine, quinn_account, "Quinn", cleanup, auto_accept=False)
    await pat.send(conv_jid, f"!transfer {quinn_account.jid} wants the pro plan")

    # An offer to Quinn, in the same conversation's window; replying takes it.
    await quinn.wait_for(lambda m: m.from_jid == conv_jid and bool(m.body), timeout=WAIT)
    quinn.send(conv_jid, "Hi, Quinn here: I can switch you to pro.")
    await wait_event(visitor, from_agent("Hi, Quinn here: I can switch you to pro."))
    # Quinn has what was said so far and Pat's note (in the offer or right after taking).
    await quinn.wait_body("I want to change my plan", sender=conv_jid, timeout=WAIT)
    await quinn.wait_body("wants the pro plan", sender=conv_jid, timeout=WAIT)
    await assert_visitor_saw(visitor, conversation_id, joined=["Pat", "Quinn"], left=["Pat"])

    # Pat is out of the chat: what Pat still writes there is refused, not delivered.
    await pat.send(conv_jid, "Are you still there?")
    await pat.wait_for(f"Error from {conv_jid}")

    quinn.send(conv_jid, "!end resolved")
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    assert await stored_wrap_ups(engine, conversation_id) == [("resolved", "Quinn")]
    await assert_visitor_saw(
        visitor, conversation_id, joined=["Pat", "Quinn"], left=["Pat", "Quinn"]
    )
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    assert "Are you still there?" not in [e.get("text") for e in synced["events"]]
