"""``!info`` and ``!history`` from the agent's client."""

from __future__ import annotations

from business import commands as c
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, body_of, from_agent, harness


async def test_info_and_history_answer_in_the_window(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    vera = await world.visitor()
    first = await world.start(vera, "Where is my parcel?")
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=first.id)
    )
    world.advance(60)
    now = await world.start(vera, "Hello again")
    await h.delivered()

    await h.receive(from_agent(now.id, "!info"))
    [info] = await h.bodies()
    assert info.startswith("Visitor: Vera\nIdentity: anonymous (not verified)")
    assert "Earlier chats: 1" in info

    await h.receive(from_agent(now.id, "!history 3"))
    [history] = await h.bodies()
    assert history.startswith("Earlier chats with this visitor (1, newest first):")
    assert "[Vera] Where is my parcel?" in history

    await h.receive(from_agent(now.id, "!history lots"))
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert "!history <number of messages>" in (body_of(text) or "")
