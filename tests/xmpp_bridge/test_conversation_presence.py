"""The conversation JID shows online to each agent in the chat, with the visitor's name,
from the offer until they leave or it ends (AGENT-DESK.md, Addresses): what the captured
link is given, for a routed chat, a transfer, a consult, a declined invitation, a held
chat given back, a supervisor, and a replay after a reconnect. An offer timing out:
``test_offers``."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.model import ConversationState
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    ALICE_JID,
    BOB_JID,
    Harness,
    SeenPresence,
    body_of,
    conv_jid,
    from_agent,
    harness,
    is_presence,
    presences,
)
from tests.xmpp_bridge.test_colleagues import BOB_CLIENT, with_alice
from tests.xmpp_bridge.test_supervision import SAM_CLIENT, SAM_JID, supervised_chat, to_engine
from xmpp_bridge import texts
from xmpp_bridge.converters import Stanza


def online(conversation: Conversation, to: str) -> SeenPresence:
    return SeenPresence(conv_jid(conversation), to, None, "Vera")


def offline(conversation: Conversation, to: str) -> SeenPresence:
    return SeenPresence(conv_jid(conversation), to, "unavailable", None)


def to(stanzas: list[Stanza], jid: str) -> list[Stanza]:
    return [s for s in stanzas if s.xml.get("to", "").split("/")[0] == jid]


def offer_follows_presence(stanzas: list[Stanza]) -> bool:
    """The first stanza is presence and the next the offer."""
    return (
        len(stanzas) >= 2
        and is_presence(stanzas[0])
        and (body_of(stanzas[1]) or "").endswith(texts.offer_footer(20))
    )


async def offered(h: Harness) -> Conversation:
    await h.world.add_agent(ALICE, ready=True, auto_accept=False)
    conversation = await h.world.start(await h.world.visitor(), "Anyone there?")
    assert conversation.offered_to == ALICE
    return conversation


async def test_a_routed_chat_shows_online_from_the_offer_and_offline_after_the_end(
    world: World,
) -> None:
    h = harness(world)
    conversation = await offered(h)

    sent = await h.delivered()
    assert offer_follows_presence(sent)
    assert presences(sent) == [online(conversation, ALICE_JID)]

    # Again when she takes it: the presence Converse.js shows.
    await h.receive(from_agent(conversation.id, "!accept"))
    assert presences(await h.delivered()) == [online(conversation, ALICE_JID)]

    await world.visitor_says(conversation.visitor_id, conversation.id, "My parcel is late")
    assert presences(await h.delivered()) == []

    await h.receive(from_agent(conversation.id, "!end", stanza_id="s2"))
    sent = await h.delivered()
    assert world.conv(conversation.id).state is ConversationState.ENDED
    # Her leaving and the end both say so; it is the last thing she gets.
    assert presences(sent)
    assert set(presences(sent)) == {offline(conversation, ALICE_JID)}
    assert is_presence(sent[-1])


async def test_a_transfer_takes_it_offline_for_the_old_agent_and_online_for_the_new(
    world: World,
) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id

    await h.receive(from_agent(cid, f"!transfer {BOB_JID} refunds"))
    sent = await h.delivered()
    assert offer_follows_presence(to(sent, BOB_JID))
    assert presences(sent) == [online(conversation, BOB_JID)]

    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    sent = await h.delivered()
    assert world.conv(cid).agent_id != ALICE
    assert presences(to(sent, ALICE_JID)) == [offline(conversation, ALICE_JID)]
    assert presences(to(sent, BOB_JID)) == [online(conversation, BOB_JID)]

    # Alice is out of it; Bob's window stays online until the end.
    await world.visitor_says(conversation.visitor_id, cid, "thanks")
    assert presences(await h.delivered()) == []


async def test_a_consultant_sees_it_online_while_consulted(world: World) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id

    await h.receive(from_agent(cid, f"!consult {BOB_JID}"))
    sent = await h.delivered()
    assert offer_follows_presence(to(sent, BOB_JID))
    assert presences(sent) == [online(conversation, BOB_JID)]

    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    assert presences(await h.delivered()) == [online(conversation, BOB_JID)]

    await h.receive(from_agent(cid, "!leave", agent=BOB_CLIENT, stanza_id="b2"))
    sent = await h.delivered()
    # Only Bob's window goes offline: Alice still has the chat.
    assert presences(sent) == [offline(conversation, BOB_JID)]


async def test_a_declined_invitation_takes_the_presence_back(world: World) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!invite {BOB_JID}"))
    await h.delivered()

    await h.receive(from_agent(cid, "!decline", agent=BOB_CLIENT, stanza_id="b1"))
    sent = await h.delivered()

    assert world.conv(cid).members == ()
    assert presences(sent) == [offline(conversation, BOB_JID)]
    assert presences(to(sent, ALICE_JID)) == []


async def test_a_held_chat_given_back_shows_online_again(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    await h.receive(from_agent(conversation.id, "!hold"))
    await h.delivered()

    await world.visitor_says(conversation.visitor_id, conversation.id, "Here is my invoice")
    sent = await h.delivered()

    assert texts.CHAT_RETURNED in [body_of(s) for s in sent]
    assert presences(sent) == [online(conversation, ALICE_JID)]


async def test_a_replay_after_a_reconnect_sends_the_presence_again(world: World) -> None:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)  # takes it at once
    conversation = await world.start(await world.visitor(), "Hello")
    first = presences(await h.delivered())
    assert first == [online(conversation, ALICE_JID)] * 2  # with the offer; on taking it

    # The link drops before the server confirmed any of it: all of it goes again.
    h.reconnect()
    await h.notifier.replay()

    assert presences(await h.delivered()) == first


async def test_a_chat_that_ended_while_the_link_was_down_ends_offline(world: World) -> None:
    h = harness(world, connected=False)
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(
            visitor_id=conversation.visitor_id, conversation_id=conversation.id
        )
    )

    h.link.attach(h.sender)
    await h.notifier.replay()
    sent = await h.delivered()

    # Everything in order, so the client ends where the chat is: offline.
    assert presences(sent) == [
        online(conversation, ALICE_JID),
        online(conversation, ALICE_JID),
        offline(conversation, ALICE_JID),
    ]
    assert is_presence(sent[-1])


async def test_a_supervisor_sees_it_online_while_monitoring_or_barged_in(world: World) -> None:
    h, conversation = await supervised_chat(world)
    cid = conversation.id

    await h.receive(to_engine(f"monitor {cid}"))
    sent = await h.delivered()
    assert presences(sent) == [online(conversation, SAM_JID)]  # Alice sees nothing of it
    await h.receive(to_engine(f"unmonitor {cid}"))
    assert presences(await h.delivered()) == [offline(conversation, SAM_JID)]

    await h.receive(to_engine(f"monitor {cid}"))
    await h.delivered()
    await h.receive(from_agent(cid, "!barge", agent=SAM_CLIENT, stanza_id="s1"))
    assert presences(await h.delivered()) == [online(conversation, SAM_JID)]

    await h.receive(from_agent(cid, "!end", stanza_id="a1"))
    sent = await h.delivered()
    assert set(presences(to(sent, SAM_JID))) == {offline(conversation, SAM_JID)}
    assert set(presences(to(sent, ALICE_JID))) == {offline(conversation, ALICE_JID)}
