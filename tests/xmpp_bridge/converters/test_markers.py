"""Receipts (XEP-0184), chat markers (XEP-0333), corrections (XEP-0308) and files
(XEP-0066): XML in, meaning out; values in, XML out; and round trips over the wire."""

from __future__ import annotations

from datetime import timedelta

from business.events import MessageUpdated
from business.model import AgentId, EventId, Participant, ParticipantKind
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
    posted,
    wire,
)
from xmpp_bridge.converters import custom_to_stanza, parse_stanza, stanza_to_custom
from xmpp_bridge.converters._markers import set_replace
from xmpp_bridge.custom import (
    AgentCorrection,
    AgentDisplayed,
    AgentMessage,
    ConversationUpdate,
    DeliveryConfirmed,
    DisplayedMarker,
    Payload,
    TextReply,
)

FROM_ALICE = f'<message from="alice@localhost/laptop" to="{CONV_JID}"'
SAM = Participant(kind=ParticipantKind.AGENT, name="Sam", id=AgentId("s-sam"))
URL = "https://files.example/report.pdf"


def payload(xml: str) -> Payload | None:
    received = stanza_to_custom(parse_stanza(xml), ADDRESSING)
    return None if received is None else received.payload


# -- inbound -------------------------------------------------------------------------


def test_a_displayed_marker_names_the_message_it_reaches() -> None:
    xml = (
        f'{FROM_ALICE} type="chat"><displayed xmlns="urn:xmpp:chat-markers:0" id="ev4"/></message>'
    )

    assert payload(xml) == AgentDisplayed(conversation_id=CID, marked_id="ev4")


def test_receipts_and_received_markers_are_delivery_confirmations() -> None:
    receipt = f'{FROM_ALICE}><received xmlns="urn:xmpp:receipts" id="ev4"/></message>'
    marker = f'{FROM_ALICE}><received xmlns="urn:xmpp:chat-markers:0" id="ev5"/></message>'

    assert payload(receipt) == DeliveryConfirmed(conversation_id=CID, confirmed_id="ev4")
    assert payload(marker) == DeliveryConfirmed(conversation_id=CID, confirmed_id="ev5")


def test_a_marker_wins_over_a_chat_state_in_the_same_message() -> None:
    xml = (
        f'{FROM_ALICE} type="chat"><active xmlns="http://jabber.org/protocol/chatstates"/>'
        '<displayed xmlns="urn:xmpp:chat-markers:0" id="ev4"/></message>'
    )

    assert payload(xml) == AgentDisplayed(conversation_id=CID, marked_id="ev4")


def test_a_correction_names_the_message_by_its_stored_client_msg_id() -> None:
    xml = (
        f'{FROM_ALICE} type="chat" id="s2"><body>Tuesday, not Monday</body>'
        '<replace xmlns="urn:xmpp:message-correct:0" id="s1"/></message>'
    )

    assert payload(xml) == AgentCorrection(
        conversation_id=CID, replaces="xmpp:s1", text="Tuesday, not Monday"
    )


def test_a_correction_that_starts_with_a_bang_is_still_a_correction() -> None:
    xml = (
        f'{FROM_ALICE} type="chat" id="s2"><body>!end is how you end</body>'
        '<replace xmlns="urn:xmpp:message-correct:0" id="s1"/></message>'
    )

    assert payload(xml) == AgentCorrection(
        conversation_id=CID, replaces="xmpp:s1", text="!end is how you end"
    )


def test_a_file_whose_body_is_its_url_is_an_attachment() -> None:
    xml = (
        f'{FROM_ALICE} type="chat" id="f1"><body>{URL}</body>'
        f'<x xmlns="jabber:x:oob"><url>{URL}</url></x></message>'
    )

    assert payload(xml) == AgentMessage(
        conversation_id=CID, text="", client_msg_id="xmpp:f1", attachments=(URL,)
    )


def test_a_link_with_other_text_stays_text() -> None:
    xml = (
        f'{FROM_ALICE} type="chat" id="f1"><body>see {URL}</body>'
        f'<x xmlns="jabber:x:oob"><url>{URL}</url></x></message>'
    )

    assert payload(xml) == AgentMessage(
        conversation_id=CID, text=f"see {URL}", client_msg_id="xmpp:f1"
    )


# -- outbound ------------------------------------------------------------------------


def test_a_displayed_marker_goes_from_the_conversation_jid() -> None:
    [stanza] = custom_to_stanza(
        DisplayedMarker(conversation=make_conversation(), to=ALICE_JID, marked_id="s1"),
        ADDRESSING,
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat">
          <displayed xmlns="urn:xmpp:chat-markers:0" id="s1"/>
        </message>
        """,
    )


def corrected(sender: Participant, text: str = "Tuesday") -> MessageUpdated:
    return MessageUpdated(
        conversation_id=CID,
        seq=6,
        pos=6,
        created_at=T0 + timedelta(seconds=6),
        id=EventId("ev6"),
        replaces=EventId("ev5"),
        sender=sender,
        text=text,
    )


def test_a_correction_by_someone_else_corrects_the_relayed_message() -> None:
    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=make_conversation(), to=ALICE_JID, event=corrected(SAM)),
        ADDRESSING,
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost" type="chat" id="ev6">
          <body>[Sam] Tuesday</body>
          <replace xmlns="urn:xmpp:message-correct:0" id="ev5"/>
        </message>
        """,
    )


def test_the_agents_own_correction_is_not_echoed() -> None:
    update = ConversationUpdate(
        conversation=make_conversation(), to=ALICE_JID, event=corrected(ALICE_AGENT)
    )

    assert custom_to_stanza(update, ADDRESSING) == []


def test_a_correction_too_long_for_one_stanza_goes_as_new_messages() -> None:
    update = ConversationUpdate(
        conversation=make_conversation(), to=ALICE_JID, event=corrected(SAM, "word " * 400)
    )

    stanzas = custom_to_stanza(update, ADDRESSING, budget=1000)

    assert len(stanzas) > 1
    assert all(s.xml.find("{urn:xmpp:message-correct:0}replace") is None for s in stanzas)
    assert "".join((body_of(s) or "").removeprefix("[Sam] ") for s in stanzas) == "word " * 400


# -- round trips ---------------------------------------------------------------------


def answered(stanza_xml: str) -> Payload | None:
    received = stanza_to_custom(wire(parse_stanza(stanza_xml)), ADDRESSING)
    return None if received is None else received.payload


def test_a_visitor_message_asks_for_markers_the_agents_client_can_answer() -> None:
    [sent] = custom_to_stanza(
        ConversationUpdate(conversation=make_conversation(), to=ALICE_JID, event=posted(4, "Hi")),
        ADDRESSING,
    )
    arrived = wire(sent)
    assert arrived.xml.find("{urn:xmpp:chat-markers:0}markable") is not None
    assert arrived.xml.find("{urn:xmpp:receipts}request") is not None
    stanza_id = arrived.xml.attrib["id"]

    displayed = answered(
        f'{FROM_ALICE} type="chat">'
        f'<displayed xmlns="urn:xmpp:chat-markers:0" id="{stanza_id}"/></message>'
    )
    receipt = answered(
        f'{FROM_ALICE}><received xmlns="urn:xmpp:receipts" id="{stanza_id}"/></message>'
    )

    assert displayed == AgentDisplayed(conversation_id=CID, marked_id="ev4")
    assert receipt == DeliveryConfirmed(conversation_id=CID, confirmed_id="ev4")


def test_a_marker_the_engine_sends_reads_back_with_its_id() -> None:
    [sent] = custom_to_stanza(
        DisplayedMarker(conversation=make_conversation(), to=ALICE_JID, marked_id="s-1"),
        ADDRESSING,
    )

    arrived = wire(sent)

    marker = arrived.xml.find("{urn:xmpp:chat-markers:0}displayed")
    assert marker is not None
    assert marker.get("id") == "s-1"


def test_a_file_the_engine_sends_reads_back_as_a_file() -> None:
    event = posted(4, "", attachments=(URL,))
    [sent] = custom_to_stanza(
        ConversationUpdate(conversation=make_conversation(), to=ALICE_JID, event=event), ADDRESSING
    )
    echoed = wire(sent)
    echoed.xml.attrib["from"], echoed.xml.attrib["to"] = "alice@localhost/laptop", CONV_JID

    received = stanza_to_custom(wire(echoed), ADDRESSING)

    assert received is not None
    assert received.payload == AgentMessage(
        conversation_id=CID, text="", client_msg_id="xmpp:ev4-1", attachments=(URL,)
    )


def test_a_correction_an_agent_sends_reads_back_as_that_correction() -> None:
    [sent] = custom_to_stanza(
        TextReply(sender="alice@localhost/laptop", to=CONV_JID, text="Tuesday", stanza_id="s2"),
        ADDRESSING,
    )
    sent_with_replace = wire(sent)
    set_replace(sent_with_replace, "s1")

    received = stanza_to_custom(wire(sent_with_replace), ADDRESSING)

    assert received is not None
    assert received.payload == AgentCorrection(
        conversation_id=CID, replaces="xmpp:s1", text="Tuesday"
    )
