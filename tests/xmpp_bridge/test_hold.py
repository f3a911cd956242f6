"""``!hold`` / ``!unhold`` from the agent's client: answered in the chat's window, refused
with the reason, and a held chat the visitor writes to comes back with a notice."""

from __future__ import annotations

from business.conversation import Conversation
from business.model import ConversationState
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, BOB, Harness, body_of, from_agent, harness
from xmpp_bridge import texts


async def active(world: World, *, max_chats: int = 3) -> Conversation:
    await world.agent(ALICE, max_chats=max_chats)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


async def refusal(h: Harness, expected: str) -> None:
    """The refused stanza's error, then the reason in the window."""
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert body_of(text) == expected


async def test_hold_is_confirmed_and_the_visitor_writing_brings_it_back(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!hold"))

    assert await h.bodies() == [texts.CHAT_ON_HOLD]
    assert world.conv(conversation.id).state is ConversationState.ON_HOLD

    await world.visitor_says(conversation.visitor_id, conversation.id, "Here is my invoice")

    assert await h.bodies() == ["Here is my invoice", texts.CHAT_RETURNED]
    assert world.conv(conversation.id).state is ConversationState.ACTIVE


async def test_writing_to_the_visitor_while_on_hold_is_refused_until_unhold(
    world: World,
) -> None:
    h = harness(world)
    conversation = await active(world)
    await h.receive(from_agent(conversation.id, "!hold"))
    await h.delivered()

    await h.receive(from_agent(conversation.id, "Still there?", stanza_id="s2"))
    await refusal(h, "Not delivered: the chat is on hold: !unhold first.")

    await h.receive(from_agent(conversation.id, "!unhold", stanza_id="s3"))
    assert await h.bodies() == [texts.CHAT_OFF_HOLD]
    await h.receive(from_agent(conversation.id, "Still there?", stanza_id="s4"))
    assert await h.delivered() == []  # delivered to the visitor, nothing to answer
    assert world.conv(conversation.id).state is ConversationState.ACTIVE


async def test_unhold_at_capacity_and_unhold_of_an_active_chat_say_why(world: World) -> None:
    h = harness(world)
    first = await active(world, max_chats=1)
    await h.receive(from_agent(first.id, "!hold"))
    second = await world.start(await world.visitor(), "Me next")
    assert second.agent_id == ALICE  # the held chat freed Alice's only place
    await h.delivered()

    await h.receive(from_agent(first.id, "!unhold", stanza_id="s2"))
    await refusal(
        h,
        "Sorry: you are at your maximum of 1 active chat: end one or put one on hold first.",
    )
    await h.receive(from_agent(second.id, "!unhold", stanza_id="s3"))
    await refusal(h, "Sorry: this chat is not on hold.")
    assert world.conv(first.id).state is ConversationState.ON_HOLD


async def test_hold_twice_or_in_someone_elses_chat_is_refused(world: World) -> None:
    h = harness(world)
    conversation = await active(world)
    await world.add_agent(BOB)
    await h.receive(from_agent(conversation.id, "!hold"))
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!hold", stanza_id="s2"))
    await refusal(h, "Sorry: this chat is already on hold (!unhold takes it back).")
    await h.receive(from_agent(conversation.id, "!unhold", agent="bob@localhost/desk"))
    await refusal(h, "Sorry: you are not the agent of this conversation.")
    assert world.conv(conversation.id).state is ConversationState.ON_HOLD


async def test_an_offered_agent_may_not_hold_and_help_says_so(world: World) -> None:
    h = harness(world)
    await world.agent(ALICE, auto_accept=False)
    conversation = await world.start(await world.visitor(), "Hello")
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!hold"))
    await refusal(h, "Sorry: !hold is not one of your commands here.")
    await h.receive(from_agent(conversation.id, "!help", stanza_id="s2"))
    [help_text] = await h.bodies()
    assert "!hold" not in help_text
    assert world.conv(conversation.id).offered_to == ALICE
