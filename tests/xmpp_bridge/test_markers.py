"""Markers, receipts, corrections and files between an agent's client and the engine,
on the capturing link (AGENT-DESK.md, "Receipts, markers, corrections, files")."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.corrections import NOT_THE_LAST
from business.events import MessagePosted, MessageUpdated, ReadMarked
from tests.harness import World
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE,
    BOB,
    Harness,
    assert_xml,
    body_of,
    from_agent,
    harness,
)
from xmpp_bridge.link import Link

MARKERS = "urn:xmpp:chat-markers:0"
URL = "https://files.example/invoice.pdf"


async def active(world: World) -> Conversation:
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


def jid(conversation: Conversation) -> str:
    return f"c-{conversation.id}@chat.localhost"


def displayed(conversation: Conversation, marked_id: str, agent: str = "alice") -> str:
    return (
        f'<message from="{agent}@localhost/laptop" to="{jid(conversation)}" type="chat">'
        f'<displayed xmlns="{MARKERS}" id="{marked_id}"/></message>'
    )


def reads(world: World, conversation: Conversation) -> list[int]:
    return [e.up_to_seq for e in world.stored(conversation.id) if isinstance(e, ReadMarked)]


async def test_the_agents_displayed_marker_tells_the_visitor_their_message_was_read(
    h: Harness,
) -> None:
    conversation = await active(h.world)
    await h.delivered()
    question = await h.world.say(conversation, "Where is my parcel?", "m-2")
    [sent] = await h.delivered()
    assert sent.xml.find(f"{{{MARKERS}}}markable") is not None
    assert sent.xml.find("{urn:xmpp:receipts}request") is not None

    await h.receive(displayed(conversation, sent.xml.attrib["id"]))

    assert reads(h.world, conversation) == [question.seq]
    [read] = [e for e in h.world.published(conversation.id) if isinstance(e, ReadMarked)]
    assert read.by.id == ALICE
    # Nothing goes back to the agent for it: the read is the visitor's news.
    assert await h.delivered() == []


async def test_displaying_the_offer_reads_the_messages_it_quotes(h: Harness) -> None:
    conversation = await active(h.world)
    [offer] = await h.messages()
    [first] = [e for e in h.world.stored(conversation.id) if isinstance(e, MessagePosted)]

    await h.receive(displayed(conversation, offer.xml.attrib["id"]))

    assert reads(h.world, conversation) == [first.seq]


async def test_markers_only_move_forward_and_unknown_ids_are_ignored(world: World) -> None:
    h = harness(world, link=Link(ADDRESSING, stanza_budget=1000))
    conversation = await active(h.world)
    first = await h.world.say(conversation, "one", "m-2")
    second = await h.world.say(conversation, "two " * 900, "m-3")
    assert len(await h.messages()) > 3  # the offer, "one", and "two …" in parts

    await h.receive(displayed(conversation, f"{second.id}-p2"))
    await h.receive(displayed(conversation, first.id))
    await h.receive(displayed(conversation, second.id))
    await h.receive(displayed(conversation, "never-sent"))

    assert reads(h.world, conversation) == [second.seq]
    assert await h.delivered() == []


async def test_a_marker_from_someone_else_stores_nothing_and_is_not_answered(
    h: Harness,
) -> None:
    conversation = await active(h.world)
    await h.world.add_agent(BOB, ready=False)
    question = await h.world.say(conversation, "hello?", "m-2")
    await h.delivered()

    await h.receive(displayed(conversation, question.id, agent="bob"))
    await h.receive(displayed(conversation, question.id))

    # Bob's marker did not count as forwarded: Alice's still got through.
    assert reads(h.world, conversation) == [question.seq]
    assert await h.delivered() == []


async def test_the_visitors_read_becomes_a_displayed_marker_for_the_agent(h: Harness) -> None:
    conversation = await active(h.world)
    await h.receive(from_agent(conversation.id, "Hi Vera", stanza_id="s1"))
    await h.receive(from_agent(conversation.id, "Let me check", stanza_id="s2"))
    newest = h.world.conv(conversation.id).last_seq
    await h.delivered()
    read = c.MarkVisitorRead(
        visitor_id=conversation.visitor_id, conversation_id=conversation.id, seq=newest
    )

    await h.world.messaging.mark_visitor_read(read)

    [marker] = await h.delivered()
    assert_xml(
        marker,
        f'<message from="{jid(conversation)}" to="alice@localhost" type="chat">'
        f'<displayed xmlns="{MARKERS}" id="s2"/></message>',
    )
    # Read again (another tab): the agent has been told already.
    await h.world.say(conversation, "thanks", "m-9")
    await h.delivered()
    again = c.MarkVisitorRead(
        visitor_id=conversation.visitor_id,
        conversation_id=conversation.id,
        seq=h.world.conv(conversation.id).last_seq,
    )
    await h.world.messaging.mark_visitor_read(again)
    assert await h.delivered() == []


async def test_a_correction_of_the_last_message_is_stored_and_confirmed(h: Harness) -> None:
    conversation = await active(h.world)
    await h.receive(from_agent(conversation.id, "See you Monday", stanza_id="s1"))
    await h.delivered()

    await h.receive(
        from_agent(
            conversation.id,
            "See you Tuesday",
            stanza_id="s2",
            extra='<replace xmlns="urn:xmpp:message-correct:0" id="s1"/>'
            '<request xmlns="urn:xmpp:receipts"/>',
        )
    )

    [update] = [e for e in h.world.stored(conversation.id) if isinstance(e, MessageUpdated)]
    [original] = [
        e
        for e in h.world.stored(conversation.id)
        if isinstance(e, MessagePosted) and e.client_msg_id == "xmpp:s1"
    ]
    assert (update.replaces, update.text) == (original.id, "See you Tuesday")
    # Only the receipt comes back: the agent's own correction is not echoed.
    [receipt] = await h.delivered()
    assert_xml(
        receipt,
        f'<message from="{jid(conversation)}" to="alice@localhost/laptop">'
        '<received xmlns="urn:xmpp:receipts" id="s2"/></message>',
        ignore_id=True,
    )


async def test_a_correction_of_an_earlier_message_is_refused_clearly(h: Harness) -> None:
    conversation = await active(h.world)
    await h.receive(from_agent(conversation.id, "first", stanza_id="s1"))
    await h.receive(from_agent(conversation.id, "second", stanza_id="s2"))
    await h.delivered()

    await h.receive(
        from_agent(
            conversation.id,
            "first, fixed",
            stanza_id="s3",
            extra='<replace xmlns="urn:xmpp:message-correct:0" id="s1"/>',
        )
    )

    error, text = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert error.xml.attrib["id"] == "s3"
    condition = error.xml.find(
        "{jabber:component:accept}error/{urn:ietf:params:xml:ns:xmpp-stanzas}bad-request"
    )
    assert condition is not None
    assert body_of(text) == f"Sorry: {NOT_THE_LAST}."
    assert not any(isinstance(e, MessageUpdated) for e in h.world.stored(conversation.id))


async def test_a_file_from_the_agent_is_stored_as_an_attachment(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(
        from_agent(
            conversation.id,
            URL,
            stanza_id="f1",
            extra=f'<x xmlns="jabber:x:oob"><url>{URL}</url></x>',
        )
    )

    [message] = [
        e
        for e in h.world.stored(conversation.id)
        if isinstance(e, MessagePosted) and e.client_msg_id == "xmpp:f1"
    ]
    assert (message.text, message.attachments) == ("", (URL,))
    assert await h.delivered() == []


async def test_receipts_from_the_agent_are_accepted_and_change_nothing(h: Harness) -> None:
    conversation = await active(h.world)
    question = await h.world.say(conversation, "hello?", "m-2")
    await h.delivered()
    last_pos = h.world.conv(conversation.id).last_pos

    await h.receive(
        f'<message from="alice@localhost/laptop" to="{jid(conversation)}">'
        f'<received xmlns="urn:xmpp:receipts" id="{question.id}"/></message>'
    )

    assert h.world.conv(conversation.id).last_pos == last_pos
    assert await h.delivered() == []
