"""Every stanza the converters make fits the byte budget, however big the input.

Prosody closes the component connection for a stanza over 512 KiB, and the bridge would
send the same stanza first again after reconnecting: one oversized offer cut every agent
off. A visitor can make one within the limits (20 form fields, 50 custom fields of 2,000
characters, long messages while queued), so the converters abridge offers and split
message bodies, accounting for XML escaping and multibyte UTF-8.
"""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

from hypothesis import given, settings, strategies as st

from business.events import ConversationEvent
from business.model import (
    Participant,
    ParticipantKind,
    VisitorContext,
)
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE_JID,
    T0,
    VERA,
    body_of,
    is_presence,
    messages,
    offer_made,
    offered_conversation,
    posted,
    wire,
)
from xmpp_bridge.converters import Stanza, custom_to_stanza, stanza_to_xml
from xmpp_bridge.custom import (
    AgentOffer,
    ConversationUpdate,
    ErrorReply,
    ErrorType,
    Origin,
    Receipt,
    TextReply,
)

KIB = 1024
BUDGET = 64 * KIB
# Every character of it costs more than one byte on the wire: multibyte UTF-8 or an
# XML escape (&quot; is six bytes for one character).
HEAVY = "€<&>\"ü'😀"


def heavy(length: int, seed: int = 0) -> str:
    return (f"{seed} {HEAVY} " * length)[:length]


def size(stanza: Stanza) -> int:
    return len(stanza_to_xml(stanza).encode())


def escaped_size(text: str) -> int:
    return len(escape(text, {'"': "&quot;", "'": "&apos;"}).encode())


QUEUED = [posted(seq, heavy(4000, seq)) for seq in range(1, 38)] + [
    posted(38, "Hello? Is anybody there? I need help with my order <#42>")
]
OFFER = offer_made(39, at=T0 + timedelta(minutes=3))
HUGE_CONVERSATION = offered_conversation(
    OFFER,
    context=VisitorContext(
        page_url="https://shop.example/checkout?step=2",
        page_title="Checkout",
        referrer="https://search.example/?q=" + heavy(2000),
        custom={f"custom{n:02}": heavy(2000, n) for n in range(50)},
    ),
    form={"name": "Vera", **{f"form{n:02}": heavy(2000, n) for n in range(19)}},
    last_seq=38,
    last_pos=39,
)
HUGE_OFFER = AgentOffer(conversation=HUGE_CONVERSATION, to=ALICE_JID, offer=OFFER, earlier=QUEUED)


def test_the_visitor_input_is_far_over_what_a_server_accepts() -> None:
    context = [*HUGE_CONVERSATION.form.values(), *HUGE_CONVERSATION.context.custom.values()]
    queued = [event.text for event in QUEUED]

    assert sum(escaped_size(text) for text in context + queued) > 512 * KIB


def test_a_huge_offer_fits_the_budget_and_keeps_what_the_agent_needs() -> None:
    stanzas = custom_to_stanza(HUGE_OFFER, ADDRESSING)

    assert all(size(stanza) <= BUDGET for stanza in stanzas)
    [presence, message] = stanzas
    assert is_presence(presence)  # the conversation shows online first
    offer = body_of(wire(message))
    assert offer is not None
    assert offer.startswith("New chat from Vera (queue support, waited 3 min)")
    assert "Page: Checkout - https://shop.example/checkout?step=2" in offer
    assert "Hello? Is anybody there? I need help with my order <#42>" in offer
    assert offer.rstrip().endswith("Reply to take this chat, or !decline. (20 s)")


def test_a_huge_offer_says_what_it_left_out() -> None:
    [stanza] = messages(custom_to_stanza(HUGE_OFFER, ADDRESSING))
    offer = body_of(wire(stanza))
    assert offer is not None

    assert "more fields" in offer
    assert "earlier messages" in offer
    # The newest messages are the ones kept, oldest first as they were written.
    assert offer.index(QUEUED[-2].text[:40]) < offer.index(QUEUED[-1].text)


def test_a_long_page_address_is_shortened_not_dropped() -> None:
    conversation = offered_conversation(
        OFFER, context=VisitorContext(page_url="https://shop.example/" + "a" * 200_000)
    )
    offer = AgentOffer(
        conversation=conversation, to=ALICE_JID, offer=OFFER, earlier=[posted(1, "hi")]
    )

    [stanza] = messages(custom_to_stanza(offer, ADDRESSING))

    assert size(stanza) <= BUDGET
    text = body_of(wire(stanza))
    assert text is not None
    assert "Page: https://shop.example/aaaa" in text
    assert "[Vera] hi" in text


def message_parts(text: str, sender: Participant = VERA) -> list[Stanza]:
    return custom_to_stanza(
        ConversationUpdate(
            conversation=HUGE_CONVERSATION, to=ALICE_JID, event=posted(4, text, sender)
        ),
        ADDRESSING,
    )


def test_a_huge_message_is_split_into_parts_that_reassemble() -> None:
    text = heavy(1_000_000)

    parts = message_parts(text)

    assert len(parts) > 1
    assert all(size(part) <= BUDGET for part in parts)
    received = [wire(part) for part in parts]
    assert "".join(body_of(part) or "" for part in received) == text
    assert [part.xml.attrib["id"] for part in parts] == [
        "ev4",
        *(f"ev4-p{n}" for n in range(2, len(parts) + 1)),
    ]
    # Each part still comes from the visitor, so clients show them as one person's.
    assert all(part.xml.find("{http://jabber.org/protocol/nick}nick") is not None for part in parts)


def test_a_message_that_fits_is_one_stanza_with_the_event_id() -> None:
    [stanza] = message_parts("x" * 60_000)

    assert stanza.xml.attrib["id"] == "ev4"


def test_a_split_message_from_someone_else_names_them_in_every_part() -> None:
    bot = Participant(kind=ParticipantKind.BOT, name="Helper", id=None)

    parts = message_parts("y" * 200_000, bot)

    assert len(parts) > 1
    bodies = [body_of(wire(part)) or "" for part in parts]
    assert all(body.startswith("[Bot Helper] ") for body in bodies)
    assert "".join(body.removeprefix("[Bot Helper] ") for body in bodies) == "y" * 200_000


def test_a_long_reply_is_split_too() -> None:
    text = heavy(300_000)

    parts = custom_to_stanza(
        TextReply(sender="chat.localhost", to=ALICE_JID, text=text, stanza_id="r1"), ADDRESSING
    )

    assert all(size(part) <= BUDGET for part in parts)
    assert "".join(body_of(wire(part)) or "" for part in parts) == text


# An agent's client chooses its stanza ids; its server may pass on ones this long.
HUGE_ID_ORIGIN = Origin(
    kind="message",
    sender="alice@localhost/laptop",
    recipient="c-c0ffee@chat.localhost",
    address=ALICE_JID,
    stanza_id="i" * 100_000,
    receipt_requested=True,
)


def test_an_error_with_a_huge_reason_is_cut_to_fit() -> None:
    origin = Origin(
        kind="message", sender="alice@localhost/x", recipient="chat.localhost", address=ALICE_JID
    )
    reason = heavy(100_000)

    [stanza] = custom_to_stanza(
        ErrorReply(origin=origin, condition="bad-request", type=ErrorType.MODIFY, text=reason),
        ADDRESSING,
    )

    assert size(stanza) <= BUDGET
    text = wire(stanza).xml.findtext(
        "{jabber:component:accept}error/{urn:ietf:params:xml:ns:xmpp-stanzas}text"
    )
    assert text is not None
    assert text.endswith("…")
    assert reason.startswith(text[:-1])


def test_an_error_answering_a_huge_id_leaves_the_id_out() -> None:
    [stanza] = custom_to_stanza(
        ErrorReply(origin=HUGE_ID_ORIGIN, condition="forbidden", type=ErrorType.AUTH, text="no"),
        ADDRESSING,
    )

    assert size(stanza) <= BUDGET
    assert "id" not in stanza.xml.attrib


def test_a_receipt_for_a_huge_id_is_not_sent() -> None:
    assert custom_to_stanza(Receipt(origin=HUGE_ID_ORIGIN, stanza_id="k1"), ADDRESSING) == []


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab <&>\"'€ü😀\n\r\t")), max_size=3000),
    budget=st.integers(min_value=4096, max_value=9000),
)
def test_any_text_splits_within_any_budget_and_reassembles(text: str, budget: int) -> None:
    text = "v" + text * 3
    event = posted(4, text)

    parts = custom_to_stanza(
        ConversationUpdate(conversation=HUGE_CONVERSATION, to=ALICE_JID, event=event),
        ADDRESSING,
        budget=budget,
    )

    assert all(size(part) <= budget for part in parts)
    # What an XML parser hands the client: CR LF becomes LF, in one part or across two.
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert "".join(body_of(wire(part)) or "" for part in parts) == expected


@settings(max_examples=25, deadline=None)
@given(
    fields=st.integers(min_value=0, max_value=70),
    messages=st.integers(min_value=0, max_value=40),
    budget=st.integers(min_value=4096, max_value=70_000),
)
def test_any_offer_fits_any_budget(fields: int, messages: int, budget: int) -> None:
    conversation = offered_conversation(
        OFFER,
        visitor_name='"Vera" <&>' * 10,
        context=VisitorContext(
            page_url=heavy(2000),
            page_title=heavy(2000),
            custom={f"f{n}": heavy(2000, n) for n in range(fields)},
        ),
    )
    earlier: list[ConversationEvent] = [posted(n, heavy(4000, n)) for n in range(1, messages)]
    offer = AgentOffer(conversation=conversation, to=ALICE_JID, offer=OFFER, earlier=earlier)

    stanzas = custom_to_stanza(offer, ADDRESSING, budget=budget)

    assert stanzas
    assert all(size(stanza) <= budget for stanza in stanzas)
    [presence, message] = stanzas
    assert is_presence(presence)
    body = body_of(wire(message))
    assert body is not None
    assert body.startswith("New chat from")
