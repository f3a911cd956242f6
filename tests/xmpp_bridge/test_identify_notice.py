"""The agent's side of ``ChatEngine.identify`` (``business.visitor_identify``): one notice
in the chat's window with what changed, nothing for the same values again, and ``!info``
with the new name and values."""

from __future__ import annotations

from business.visitor_identify import IdentifyVisitor
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, from_agent, harness


async def test_the_agent_is_told_what_changed_and_info_shows_it(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, max_chats=3)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    await h.delivered()

    cmd = IdentifyVisitor(
        visitor_id=conversation.visitor_id,
        name="Ann Lee",
        email="ann@example.com",
        extra={"plan": "pro"},
    )
    await world.services.visitor_identify.identify(cmd)
    assert await h.bodies() == [
        "The visitor's details changed: name: Ann Lee, e-mail: ann@example.com, plan: pro"
    ]
    await world.services.visitor_identify.identify(cmd)  # nothing new: nobody told
    await h.receive(from_agent(conversation.id, "!info"))
    (info,) = await h.bodies()
    assert info.startswith("Visitor: Ann Lee\nIdentity: anonymous (not verified)")
    assert "email: ann@example.com" in info
    assert "plan: pro" in info
