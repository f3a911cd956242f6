"""Offers at the agent desk: ``!accept``, ``!decline``, the notice when an offer is
withdrawn, and available presence bringing a "Not responding" agent back."""

from __future__ import annotations

from business.conversation import Conversation
from business.model import ConversationState
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    ALICE_JID,
    BOB,
    Harness,
    SeenPresence,
    body_of,
    conv_jid,
    from_agent,
    harness,
    is_presence,
    presences,
)
from xmpp_bridge import texts


def presence_from(agent: str, show: str | None = None) -> str:
    children = f"<show>{show}</show>" if show else ""
    return f'<presence from="{agent}" to="support@chat.localhost">{children}</presence>'


async def offered(h: Harness) -> Conversation:
    await h.world.add_agent(ALICE, ready=True, auto_accept=False)
    conversation = await h.world.start(await h.world.visitor(), "Anyone there?")
    assert conversation.offered_to == ALICE
    [offer] = await h.messages()
    assert offer.xml.attrib["to"] == ALICE_JID
    return conversation


async def test_accept_takes_the_chat_and_says_so(world: World) -> None:
    h = harness(world)
    conversation = await offered(h)

    await h.receive(from_agent(conversation.id, "!accept"))

    after = world.conv(conversation.id)
    assert after.state is ConversationState.ACTIVE
    assert after.agent_id == ALICE
    assert await h.bodies() == [texts.OFFER_TAKEN]


async def test_a_reply_takes_the_chat_and_reaches_the_visitor(world: World) -> None:
    h = harness(world)
    conversation = await offered(h)

    await h.receive(from_agent(conversation.id, "Hi! How can I help?"))

    after = world.conv(conversation.id)
    assert after.state is ConversationState.ACTIVE
    assert after.agent_id == ALICE
    assert [e.text for e in world.fakes.events[conversation.id] if hasattr(e, "text")][-1] == (
        "Hi! How can I help?"
    )
    # The agent's own words are not echoed back; nothing else is due to them.
    assert await h.bodies() == []


async def test_decline_passes_it_on_and_says_so(world: World) -> None:
    h = harness(world)
    conversation = await offered(h)
    await world.add_agent(BOB, ready=True, auto_accept=False)

    await h.receive(from_agent(conversation.id, "!decline"))

    assert world.conv(conversation.id).offered_to == BOB
    bodies = await h.bodies()
    assert texts.OFFER_DECLINED in bodies


async def test_a_timed_out_offer_is_withdrawn_with_a_notice_and_presence_brings_her_back(
    world: World,
) -> None:
    h = harness(world)
    await h.receive(presence_from("alice@localhost/laptop"))
    conversation = await offered(h)

    world.advance(20)
    assert await world.services.offers.expire_due() == 1
    await h.notifier.drain()

    sent = await h.delivered()
    [notice] = [body for s in sent if (body := body_of(s)) is not None]
    assert notice == texts.offer_closed("timed_out", None)
    # The conversation shows offline to her after the notice.
    assert is_presence(sent[-1])
    assert presences(sent) == [SeenPresence(conv_jid(conversation), ALICE_JID, "unavailable", None)]
    assert world.fakes.agents[ALICE].ready is False
    assert world.conv(conversation.id).offered_to is None

    # Available presence again makes her ready. She was the last to let the chat pass,
    # so it waits for somebody else rather than coming straight back to her.
    await h.receive(presence_from("alice@localhost/laptop"))
    assert world.fakes.agents[ALICE].ready is True
    assert world.conv(conversation.id).offered_to is None


async def test_accept_without_an_offer_is_refused_readably(world: World) -> None:
    h = harness(world)
    conversation = await offered(h)
    await world.add_agent(BOB, ready=False)

    await h.receive(from_agent(conversation.id, "!accept", agent="bob@localhost/desk"))

    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert "!accept is not one of your commands here" in (body_of(text) or "")
    assert world.conv(conversation.id).offered_to == ALICE


async def test_an_offered_agent_gets_the_offer_commands_and_no_others(world: World) -> None:
    h = harness(world)
    conversation = await offered(h)

    await h.receive(from_agent(conversation.id, "!help"))
    [help_text] = await h.bodies()
    assert "!accept" in help_text
    assert "!decline" in help_text
    assert "!end" not in help_text

    await h.receive(from_agent(conversation.id, "!end"))
    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert "!end is not one of your commands here" in (body_of(text) or "")
    assert world.conv(conversation.id).state is ConversationState.QUEUED

    await h.receive(from_agent(conversation.id, "!accept"))
    await h.bodies()
    await h.receive(from_agent(conversation.id, "!help"))
    [help_text] = await h.bodies()
    assert "!end" in help_text
    assert "!accept" not in help_text
