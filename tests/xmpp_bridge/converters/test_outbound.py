"""Outbound converters: the bridge's values in, the exact stanzas out (compared as XML)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from business.events import (
    ConversationEvent,
    MessagePosted,
    NoteAdded,
    OfferClosed,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
)
from business.model import (
    Channel,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    VisitorContext,
)
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE_AGENT,
    ALICE_JID,
    CID,
    CONV_JID,
    T0,
    assert_xml,
    body_of,
    make_conversation,
    messages,
    offered_conversation,
)
from xmpp_bridge.converters import custom_to_stanza, offer_text
from xmpp_bridge.custom import (
    AgentOffer,
    ConversationUpdate,
    VisitorTyping,
)

# A name that needs escaping in XML, everywhere it shows.
VISITOR = Participant(kind=ParticipantKind.VISITOR, name="Vera <V&V>", id="v1")
AGENT = ALICE_AGENT
BOT = Participant(kind=ParticipantKind.BOT, name="Helper", id=None)
SAM = Participant(kind=ParticipantKind.AGENT, name="Sam", id="a-sam")

CONTEXT = VisitorContext(
    page_url="https://shop.example/cart?a=1&b=2",
    page_title="Your cart",
    referrer="https://search.example/",
    custom={"plan": "gold", "empty": ""},
)
FORM = {"name": "Vera <V&V>", "email": "vera@example.org"}

# Queued (pos 1) and a message (pos 2), then offered to Alice 75 s after the start.
OFFER = support.offer_made(3)
OFFERED = offered_conversation(
    OFFER,
    visitor_name="Vera <V&V>",
    context=CONTEXT,
    form=FORM,
    last_seq=2,
    last_pos=3,
    agent_delivered_pos=2,
)
# Alice took it at once (auto-accept): offer.closed (pos 4), participant.joined (seq 3,
# pos 5) and state.changed active (seq 4, pos 6); then one more visible event.
CONVERSATION = make_conversation(
    visitor_name="Vera <V&V>",
    context=CONTEXT,
    form=FORM,
    agent_name="Alice",
    last_seq=5,
    last_pos=7,
    agent_delivered_pos=2,
)


def posted(seq: int, text: str, sender: Participant = VISITOR, **fields: Any) -> MessagePosted:
    return support.posted(seq, text, sender, **fields)


QUEUED_AND_ASKED: list[ConversationEvent] = [
    StateChanged(
        conversation_id=CID,
        seq=1,
        pos=1,
        created_at=T0,
        state=ConversationState.QUEUED,
        queue_position=1,
    ),
    posted(2, "My order <#42> & my refund"),
]


def test_offer_carries_the_visitor_context_and_messages_so_far() -> None:
    [stanza] = messages(
        custom_to_stanza(
            AgentOffer(conversation=OFFERED, to=ALICE_JID, offer=OFFER, earlier=QUEUED_AND_ASKED),
            ADDRESSING,
        )
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="c0ffee-3">
          <body>New chat from Vera &lt;V&amp;V&gt; (queue support, waited 1 min 15 s)
Page: Your cart - https://shop.example/cart?a=1&amp;b=2
Referrer: https://search.example/
email: vera@example.org
plan: gold

[Vera &lt;V&amp;V&gt;] My order &lt;#42&gt; &amp; my refund

Reply to take this chat, or !decline. (20 s)</body>
          <markable xmlns="urn:xmpp:chat-markers:0"/>
          <request xmlns="urn:xmpp:receipts"/>
          <nick xmlns="http://jabber.org/protocol/nick">Vera &lt;V&amp;V&gt;</nick>
          <active xmlns="http://jabber.org/protocol/chatstates"/>
        </message>
        """,
    )


def test_offer_taken_at_once_says_the_chat_is_theirs() -> None:
    [stanza] = messages(
        custom_to_stanza(
            AgentOffer(
                conversation=CONVERSATION, to=ALICE_JID, offer=OFFER, earlier=QUEUED_AND_ASKED
            ),
            ADDRESSING,
        )
    )

    assert stanza.xml.attrib["id"] == "c0ffee-3"
    text = body_of(stanza)
    assert text is not None
    assert text.startswith("New chat from Vera <V&V> (queue support, waited 1 min 15 s)\n")
    assert text.endswith(
        "[Vera <V&V>] My order <#42> & my refund\n"
        "\n"
        "This chat is yours: answer here. !help lists commands."
    )


def test_offer_without_messages_or_context_says_so() -> None:
    offer = support.offer_made(2, at=T0 + timedelta(seconds=5), timeout=45)
    bare = offered_conversation(offer, visitor_name="Visitor 1a2b")

    text = offer_text(bare, offer, [])

    assert text == (
        "New chat from Visitor 1a2b (queue support, waited 5 s)\n"
        "\n"
        "(no messages yet)\n"
        "\n"
        "Reply to take this chat, or !decline. (45 s)"
    )


def test_replayed_offer_is_stamped_with_the_offer_time() -> None:
    [stanza] = messages(
        custom_to_stanza(
            AgentOffer(conversation=OFFERED, to=ALICE_JID, offer=OFFER, earlier=[], delayed=True),
            ADDRESSING,
        )
    )

    delay = stanza.xml.find("{urn:xmpp:delay}delay")
    assert delay is not None
    assert delay.attrib == {"stamp": "2026-01-01T12:01:15Z", "from": "chat.localhost"}


def test_visitor_message_goes_from_the_conversation_jid_with_the_event_id() -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(
            conversation=CONVERSATION, to=ALICE_JID, event=posted(4, "Still there?")
        ),
        ADDRESSING,
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="ev4">
          <body>Still there?</body>
          <markable xmlns="urn:xmpp:chat-markers:0"/>
          <request xmlns="urn:xmpp:receipts"/>
          <nick xmlns="http://jabber.org/protocol/nick">Vera &lt;V&amp;V&gt;</nick>
          <active xmlns="http://jabber.org/protocol/chatstates"/>
        </message>
        """,
    )


def test_replayed_visitor_message_keeps_its_original_time() -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(
            conversation=CONVERSATION, to=ALICE_JID, event=posted(4, "late"), delayed=True
        ),
        ADDRESSING,
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="ev4">
          <body>late</body>
          <markable xmlns="urn:xmpp:chat-markers:0"/>
          <request xmlns="urn:xmpp:receipts"/>
          <nick xmlns="http://jabber.org/protocol/nick">Vera &lt;V&amp;V&gt;</nick>
          <active xmlns="http://jabber.org/protocol/chatstates"/>
          <delay xmlns="urn:xmpp:delay" stamp="2026-01-01T12:00:04Z" from="chat.localhost"/>
        </message>
        """,
    )


def test_attachments_follow_as_oob_messages_whose_body_is_the_url() -> None:
    event = posted(4, "see this", attachments=("https://files.example/a.png",))

    text, file = custom_to_stanza(
        ConversationUpdate(conversation=CONVERSATION, to=ALICE_JID, event=event), ADDRESSING
    )

    assert body_of(text) == "see this"

    assert_xml(
        file,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="ev4-1">
          <body>https://files.example/a.png</body>
          <markable xmlns="urn:xmpp:chat-markers:0"/>
          <request xmlns="urn:xmpp:receipts"/>
          <x xmlns="jabber:x:oob"><url>https://files.example/a.png</url></x>
          <nick xmlns="http://jabber.org/protocol/nick">Vera &lt;V&amp;V&gt;</nick>
          <active xmlns="http://jabber.org/protocol/chatstates"/>
        </message>
        """,
    )


def test_bot_messages_are_named_in_the_body_not_as_the_contact() -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(
            conversation=CONVERSATION, to=ALICE_JID, event=posted(4, "Opening hours: 9-5", BOT)
        ),
        ADDRESSING,
    )

    # Marked as a bot, so the agent never takes it for a colleague called Helper.
    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="ev4">
          <body>[Bot Helper] Opening hours: 9-5</body>
          <markable xmlns="urn:xmpp:chat-markers:0"/>
          <request xmlns="urn:xmpp:receipts"/>
          <active xmlns="http://jabber.org/protocol/chatstates"/>
        </message>
        """,
    )


@pytest.mark.parametrize(
    ("sender", "prefix"),
    [
        (Participant(kind=ParticipantKind.SYSTEM, name="Acme Orders"), "[System Acme Orders] "),
        (Participant(kind=ParticipantKind.SYSTEM, name="System"), "[System] "),
        (Participant(kind=ParticipantKind.BOT, name="bot"), "[Bot] "),
        (SAM, "[Sam] "),
    ],
)
def test_an_integrators_message_says_it_comes_from_a_bot_or_the_system(
    sender: Participant, prefix: str
) -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=CONVERSATION, to=ALICE_JID, event=posted(4, "hi", sender)),
        ADDRESSING,
    )
    assert body_of(stanza) == prefix + "hi"


def test_an_offer_names_a_bots_earlier_message_as_the_bots() -> None:
    earlier = [*QUEUED_AND_ASKED, posted(3, "Which order?", BOT)]
    [stanza] = messages(
        custom_to_stanza(
            AgentOffer(conversation=OFFERED, to=ALICE_JID, offer=OFFER, earlier=earlier),
            ADDRESSING,
        )
    )
    assert "[Bot Helper] Which order?" in (body_of(stanza) or "")


def notice(text: str, pos: int) -> str:
    """A notice in the window: its id is the event's pos, which every stored event has."""
    return (
        f'<message from="{CONV_JID}" to="alice@localhost" type="chat" id="c0ffee-{pos}">'
        f"<body>{text}</body></message>"
    )


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            ParticipantLeft(conversation_id=CID, seq=6, pos=8, created_at=T0, participant=VISITOR),
            notice("Vera &lt;V&amp;V&gt; left the chat.", 8),
        ),
        (
            StateChanged(
                conversation_id=CID, seq=7, pos=9, created_at=T0, state=ConversationState.ENDED
            ),
            notice("This chat has ended; messages sent here no longer reach anyone.", 9),
        ),
        (
            ParticipantJoined(conversation_id=CID, seq=6, pos=8, created_at=T0, participant=BOT),
            notice("Helper joined the chat.", 8),
        ),
        (
            NoteAdded(
                conversation_id=CID,
                pos=8,
                created_at=T0,
                id=EventId("n1"),
                by=SAM,
                text="refund <approved>",
            ),
            notice("[note from Sam] refund &lt;approved&gt;", 8),
        ),
    ],
)
def test_notices_to_the_agent(event: object, expected: str) -> None:
    # The end also takes the conversation's presence back (``test_presence``).
    [stanza] = messages(
        custom_to_stanza(
            ConversationUpdate(conversation=CONVERSATION, to=ALICE_JID, event=event),  # type: ignore[arg-type]
            ADDRESSING,
        )
    )

    assert_xml(stanza, expected)


@pytest.mark.parametrize(
    "event",
    [
        posted(4, "my own words", AGENT),
        StateChanged(
            conversation_id=CID, seq=4, pos=6, created_at=T0, state=ConversationState.ACTIVE
        ),
        OFFER,
        OfferClosed(
            conversation_id=CID, pos=4, created_at=T0, agent=AGENT, outcome=OfferOutcome.ACCEPTED
        ),
        ReadMarked(conversation_id=CID, seq=4, pos=4, created_at=T0, by=VISITOR, up_to_seq=3),
        NoteAdded(
            conversation_id=CID, pos=4, created_at=T0, id=EventId("n1"), by=AGENT, text="mine"
        ),
    ],
    ids=[
        "own-message",
        "active",
        "offer-goes-as-an-agent-offer",
        "offer-closed",
        "read",
        "own-note",
    ],
)
def test_events_the_agent_does_not_get_a_stanza_for(event: object) -> None:
    # Their own join and leave bring only presence (``test_presence``).
    update = ConversationUpdate(conversation=CONVERSATION, to=ALICE_JID, event=event)  # type: ignore[arg-type]

    assert custom_to_stanza(update, ADDRESSING) == []


def test_what_the_visitor_writes_while_offered_reaches_the_offered_agent() -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=OFFERED, to=ALICE_JID, event=posted(3, "Hello?", pos=4)),
        ADDRESSING,
    )

    assert stanza.xml.attrib["id"] == "ev3"
    assert body_of(stanza) == "Hello?"


def test_nothing_goes_out_for_a_conversation_without_agent() -> None:
    # Queued and offered to nobody.
    queued = make_conversation(state=ConversationState.QUEUED, agent_id=None)

    assert (
        custom_to_stanza(
            ConversationUpdate(conversation=queued, to=ALICE_JID, event=posted(1, "hi")), ADDRESSING
        )
        == []
    )
    assert (
        custom_to_stanza(
            VisitorTyping(conversation=queued, to=ALICE_JID, composing=True), ADDRESSING
        )
        == []
    )


@pytest.mark.parametrize(("composing", "state"), [(True, "composing"), (False, "paused")])
def test_visitor_typing_is_a_chat_state(composing: bool, state: str) -> None:
    [stanza] = custom_to_stanza(
        VisitorTyping(conversation=CONVERSATION, to=ALICE_JID, composing=composing), ADDRESSING
    )

    assert_xml(
        stanza,
        f'<message from="{CONV_JID}" to="alice@localhost" type="chat">'
        f'<{state} xmlns="http://jabber.org/protocol/chatstates"/></message>',
    )


def test_an_api_channel_offer_says_which_service_the_visitor_writes_from() -> None:
    offer = support.offer_made(2, at=T0 + timedelta(seconds=5), timeout=45)
    texted = offered_conversation(
        offer, channel=Channel.API, provider="whatsapp", external_id="+447700900123"
    )
    unnamed = offered_conversation(offer, channel=Channel.API)

    assert offer_text(texted, offer, []).startswith(
        "New chat from Vera via whatsapp (API channel, queue support, waited 5 s)\n"
    )
    assert offer_text(unnamed, offer, []).startswith(
        "New chat from Vera via the API channel (queue support, waited 5 s)\n"
    )
    # The address is the visitor's own business: !info shows it, the offer does not.
    assert "+447700900123" not in offer_text(texted, offer, [])


def test_an_offline_messages_offer_says_when_it_was_left_and_where_the_answer_goes() -> None:
    offer = support.offer_made(3, at=T0 + timedelta(hours=14))
    left = offered_conversation(
        offer, visitor_name="Ann", form={"name": "Ann", "email": "ann@example.org"}, offline=True
    )
    text = offer_text(left, offer, [posted(2, "Do you ship to Norway?")])
    when = T0.strftime("%Y-%m-%d %H:%M UTC")
    assert text.startswith(
        f"Offline message from Ann, left at {when}, e-mail ann@example.org (queue support). "
        "They are probably gone: your answer reaches them by e-mail and in the chat on "
        "their next visit.\n"
    )
    assert "email: ann@example.org" not in text  # said once, in the header
    assert "Do you ship to Norway?" in text
    assert text.endswith("Reply to take this chat, or !decline. (20 s)")
