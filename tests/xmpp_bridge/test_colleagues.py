"""``!transfer``, ``!invite``, ``!consult`` and ``!leave`` from agents' clients, and the
relay between several agents in one conversation window (AGENT-DESK.md)."""

from __future__ import annotations

from business.conversation import Conversation
from tests.harness import World
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE,
    ALICE_JID,
    BOB,
    BOB_JID,
    Harness,
    body_of,
    from_agent,
    harness,
)
from xmpp_bridge import texts
from xmpp_bridge.converters import Stanza

BOB_CLIENT = "bob@localhost/desk"


async def with_alice(world: World) -> tuple[Harness, Conversation]:
    h = harness(world)
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "I need help with a refund")
    assert conversation.agent_id == ALICE
    await world.add_agent(BOB, ready=True, auto_accept=False)
    await h.delivered()
    return h, conversation


def to(stanzas: list[Stanza], jid: str) -> list[str]:
    """The bodies among ``stanzas`` addressed to ``jid``."""
    return [
        body
        for s in stanzas
        if s.xml.get("to", "").split("/")[0] == jid and (body := body_of(s)) is not None
    ]


async def test_a_transfer_reaches_the_colleague_as_an_offer_and_the_chat_moves(
    world: World,
) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id

    await h.receive(from_agent(cid, f"!transfer {BOB_JID} she wants a refund"))
    sent = await h.delivered()

    [answer] = to(sent, ALICE_JID)
    assert answer.startswith("Transfer offered to ")
    assert "waiting for their answer (20 s)" in answer
    [offer] = to(sent, BOB_JID)
    assert "transfers this chat to you: she wants a refund" in offer
    assert "I need help with a refund" in offer  # the transcript comes with it
    assert offer.endswith(texts.offer_footer(20))
    assert all(s.xml.get("from") == ADDRESSING.conversation_jid(cid) for s in sent)

    await h.receive(from_agent(cid, "Hello, Bob here", agent=BOB_CLIENT, stanza_id="b1"))
    sent = await h.delivered()
    assert world.conv(cid).agent_id == BOB
    # His own message is not echoed; he learns that Alice has left.
    assert [b for b in to(sent, BOB_JID) if "left the chat" not in b] == []
    assert any("joined the chat" in body for body in to(sent, ALICE_JID))

    await world.visitor_says(conversation.visitor_id, cid, "thank you")
    sent = await h.delivered()
    assert to(sent, BOB_JID) == ["thank you"]
    assert to(sent, ALICE_JID) == []  # Alice is out of it


async def test_in_a_conference_every_agent_sees_the_others_named(world: World) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!invite {BOB_JID}"))
    await h.delivered()
    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    sent = await h.delivered()
    assert texts.OFFER_TAKEN in to(sent, BOB_JID)
    assert any("joined the chat" in body for body in to(sent, ALICE_JID))

    await h.receive(from_agent(cid, "I handle refunds", agent=BOB_CLIENT, stanza_id="b2"))
    await h.receive(from_agent(cid, "thanks Bob", stanza_id="a2"))
    await world.visitor_says(conversation.visitor_id, cid, "great")
    sent = await h.delivered()

    bob_name = world.conv(cid).members[0].name
    assert to(sent, ALICE_JID) == [f"[{bob_name}] I handle refunds", "great"]
    alice_name = world.conv(cid).agent_name
    assert to(sent, BOB_JID) == [f"[{alice_name}] thanks Bob", "great"]


async def test_a_consultant_talks_to_the_agents_only_and_leaves(world: World) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!consult {BOB_JID} known bug?"))
    await h.delivered()
    last_seq = world.conv(cid).last_seq

    await h.receive(from_agent(cid, "yes, ticket 42", agent=BOB_CLIENT, stanza_id="b1"))
    sent = await h.delivered()
    bob_name = world.conv(cid).members[0].name
    assert f"[consult, {bob_name}] yes, ticket 42" in to(sent, ALICE_JID)
    assert world.conv(cid).last_seq == last_seq  # nothing for the visitor

    await h.receive(from_agent(cid, "!help", agent=BOB_CLIENT, stanza_id="b2"))
    [help_text] = to(await h.delivered(), BOB_JID)
    assert "!leave" in help_text
    assert "!transfer" not in help_text

    await h.receive(from_agent(cid, "!leave", agent=BOB_CLIENT, stanza_id="b3"))
    sent = await h.delivered()
    assert texts.LEFT_CHAT in to(sent, BOB_JID)
    assert f"{bob_name} left the chat." in to(sent, ALICE_JID)
    assert world.conv(cid).members == ()


async def test_a_reconnect_delivers_each_agents_events_once(world: World) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!invite {BOB_JID}"))
    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    await h.flush()
    h.sender.take()

    h.link.detach()
    h.notifier.on_link_lost()
    await world.visitor_says(conversation.visitor_id, cid, "one")
    await world.agent_says(BOB, cid, "two")
    await world.agent_says(ALICE, cid, "three")
    assert await h.delivered() == []  # nothing goes out while the link is down
    h.link.attach(h.sender)
    await h.notifier.replay()
    await h.notifier.drain()
    sent = h.sender.take()

    bob_name = world.conv(cid).members[0].name
    alice_name = world.conv(cid).agent_name
    assert to(sent, ALICE_JID) == ["one", f"[{bob_name}] two"]
    assert to(sent, BOB_JID) == ["one", f"[{alice_name}] three"]
    await h.flush()
    # Stored: a second replay has nothing to send.
    h.reconnect()
    await h.notifier.replay()
    await h.notifier.drain()
    assert h.sender.take() == []


async def test_a_colleague_command_in_somebody_elses_chat_is_refused(world: World) -> None:
    h, conversation = await with_alice(world)
    await h.receive(
        from_agent(conversation.id, f"!transfer {ALICE_JID}", agent=BOB_CLIENT, stanza_id="b1")
    )
    error, text = await h.delivered()
    assert error["type"] == "error"
    assert body_of(text) == "Sorry: only the agent who has the chat can transfer this chat."
    assert world.conv(conversation.id).offered_to is None


async def test_a_transfer_taken_after_a_reconnect_sends_the_new_agent_nothing_old(
    world: World,
) -> None:
    h, conversation = await with_alice(world)
    cid = conversation.id
    await h.receive(from_agent(cid, f"!transfer {BOB_JID} refund"))
    await h.flush()  # Bob's offer (with the transcript) delivered and confirmed
    h.sender.take()
    h.reconnect()
    await h.notifier.replay()
    await h.notifier.drain()
    assert to(h.sender.take(), BOB_JID) == []

    await h.receive(from_agent(cid, "!accept", agent=BOB_CLIENT, stanza_id="b1"))
    await world.visitor_says(conversation.visitor_id, cid, "hello again")
    sent = await h.delivered()
    bob_got = to(sent, BOB_JID)
    assert texts.OFFER_TAKEN in bob_got
    assert "hello again" in bob_got
    assert not any("I need help with a refund" in body for body in bob_got)
    assert not any("transfers this chat" in body for body in bob_got)
