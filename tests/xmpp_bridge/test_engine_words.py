"""``chats``, ``max <n>`` and ``queues`` sent to the engine's own JID."""

from __future__ import annotations

from tests.harness import World
from tests.xmpp_bridge.support import ALICE, Harness, harness
from xmpp_bridge import texts


def to_engine(body: str) -> str:
    return (
        '<message from="alice@localhost/laptop" to="chat.localhost" type="chat">'
        f"<body>{body}</body></message>"
    )


async def ask(h: Harness, body: str) -> str:
    await h.receive(to_engine(body))
    [reply] = await h.bodies()
    return reply


async def test_chats_lists_each_chat_with_its_address(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    assert await ask(h, "chats") == "You have no open chats."
    conversation = await world.start(await world.visitor(), "Hello")
    await h.delivered()

    reply = await ask(h, "chats")

    assert reply == texts.engine_chats(
        [(f"c-{conversation.id}@chat.localhost", "Vera", "support", False)]
    )


async def test_max_changes_capacity_and_refuses_nonsense(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)

    assert await ask(h, "max 5") == texts.engine_capacity(5)
    assert world.fakes.agents[ALICE].max_chats == 5

    await h.receive(to_engine("max lots"))
    error, _text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert world.fakes.agents[ALICE].max_chats == 5


async def test_queues_counts_who_waits(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=False)
    await world.start(await world.visitor(), "Hello")
    world.advance(75)
    await h.delivered()

    assert await ask(h, "queues") == "support: 1 waiting, longest 1 min 15 s"
