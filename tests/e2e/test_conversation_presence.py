"""Conversation presence on a real Prosody: the agent's client sees the conversation JID
online, with the visitor's name as nick, once the chat is theirs, and offline after the
end (AGENT-DESK.md, Addresses). Prosody delivers a component's directed presence to a
user's bare JID to each of their available resources, without any subscription."""

from __future__ import annotations

from typing import Any

import pytest

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

pytestmark = pytest.mark.e2e


async def test_the_conversation_shows_online_while_the_chat_is_the_agents(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    agent = await online_agent(engine, register_agent("pia"), "Pia", cleanup, auto_accept=False)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Is this in stock?", name="Maria")
    conv_jid = conversation_jid(engine, conversation_id)

    # Online from the offer on.
    await agent.wait_for(lambda m: m.from_jid == conv_jid and "Is this in stock?" in m.body)
    offered = await agent.wait_presence(lambda p: p.from_jid == conv_jid, timeout=WAIT)
    assert (offered.type, offered.nick) == (None, "Maria")

    # Again once she takes it: the presence a client that ignores strangers shows.
    seen = len(agent.presences)
    agent.send(conv_jid, "!accept")
    taken = await agent.wait_presence(lambda p: p.from_jid == conv_jid, after=seen, timeout=WAIT)
    assert (taken.type, taken.nick) == (None, "Maria")
    await wait_event(visitor, lambda e: e["type"] == "participant.joined")

    # Offline once the chat has ended.
    seen = len(agent.presences)
    agent.send(conv_jid, "!end")
    await wait_event(visitor, lambda e: e["type"] == "state.changed" and e["state"] == "ended")
    ended = await agent.wait_presence(lambda p: p.from_jid == conv_jid, after=seen, timeout=WAIT)
    assert ended.type == "unavailable"
    await agent.wait_body("This chat has ended", sender=conv_jid)
    # Nothing after the end says otherwise.
    assert all(p.type == "unavailable" for p in agent.presences[seen:] if p.from_jid == conv_jid)
