"""Ad-hoc commands (XEP-0050) on a real Prosody: an agent's slixmpp client lists the
engine's commands and runs them with slixmpp's own client API; each answers what the
engine word answers, ``max`` through its form; somebody who is no agent is refused."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import pytest
from slixmpp.exceptions import IqError

from chat_engine.engine import Engine
from tests.e2e.agent import ScriptedAgent
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import (
    conversation_jid,
    new_visitor,
    online_agent,
    start_chat,
    wait_event,
)
from xmpp_bridge import texts

pytestmark = pytest.mark.e2e

COMMANDS_NS = "http://jabber.org/protocol/commands"
X = "jabber:x:data"


def command_of(iq: Any) -> ET.Element:
    command: ET.Element | None = iq.xml.find(f"{{{COMMANDS_NS}}}command")
    assert command is not None
    return command


def answer_of(iq: Any) -> str:
    """The text of a completed command's result form."""
    command = command_of(iq)
    assert command.get("status") == "completed"
    form = command.find(f"{{{X}}}x")
    assert form is not None
    assert form.get("type") == "result"
    return "\n".join(v.text or "" for v in form.iter(f"{{{X}}}value"))


async def word(agent: ScriptedAgent, engine_jid: str, line: str) -> str:
    """What the engine answers ``line`` sent as a chat message."""
    seen = len(agent.received)
    agent.send(engine_jid, line)
    reply = await agent.wait_for(lambda m: m.from_jid == engine_jid, after=seen)
    return reply.body


async def test_an_agent_lists_and_runs_the_engine_commands(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    engine_jid = engine.settings.xmpp.component_jid
    ada_account = register_agent("ada")
    ada = await online_agent(engine, ada_account, "Ada", cleanup, max_chats=2)
    visitor = await new_visitor(engine, cleanup)
    conversation_id = await start_chat(visitor, "Hello?", name="Vic")
    await wait_event(visitor, lambda e: e["type"] == "participant.joined")

    # slixmpp gives the items as a set; their order is checked in the bridge's tests.
    assert sorted(await ada.adhoc_commands(engine_jid)) == [
        ("chats", texts.ADHOC_CHATS),
        ("max", texts.ADHOC_MAX),
        ("monitor", texts.ADHOC_MONITOR),
        ("queues", texts.ADHOC_QUEUES),
        ("status", texts.ADHOC_STATUS),
        ("unmonitor", texts.ADHOC_UNMONITOR),
    ]
    status = answer_of(await ada.adhoc(engine_jid, "status"))
    assert status == texts.engine_status(True, 2, ["support"])
    assert status == await word(ada, engine_jid, "status")
    chats = answer_of(await ada.adhoc(engine_jid, "chats"))
    assert conversation_jid(engine, conversation_id) in chats
    assert chats == await word(ada, engine_jid, "chats")
    queues = answer_of(await ada.adhoc(engine_jid, "queues"))
    assert queues == await word(ada, engine_jid, "queues")

    form = command_of(await ada.adhoc(engine_jid, "max"))
    assert form.get("status") == "executing"
    field = form.find(f"{{{X}}}x/{{{X}}}field[@var='max_chats']")
    assert field is not None
    assert field.findtext(f"{{{X}}}value") == "2"
    done = await ada.adhoc(
        engine_jid,
        "max",
        action="complete",
        sessionid=form.get("sessionid"),
        values={"max_chats": "4"},
    )
    assert answer_of(done) == texts.engine_capacity(4)
    agent = await engine.services.agents.find_agent(ada_account.jid)
    assert agent is not None
    assert agent.max_chats == 4


async def test_somebody_who_is_no_agent_is_refused(
    engine: Engine, register_agent: RegisterAgent, cleanup: list[Any]
) -> None:
    engine_jid = engine.settings.xmpp.component_jid
    account = register_agent("mallory")
    mallory = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
    cleanup.append(mallory)
    await mallory.connect()

    with pytest.raises(IqError) as refused:
        await mallory.adhoc(engine_jid, "status")

    assert refused.value.condition == "forbidden"
    assert refused.value.text == texts.AGENTS_ONLY
