"""Round trips: what the bridge sends survives the wire, and reads back as what it meant.

"Back" means: the stanza is serialised as the component writes it, parsed as the server
would hand it on, and — where it makes sense — answered by an agent's client with the
same payload, which the inbound converter must understand.
"""

from __future__ import annotations

import dataclasses

from hypothesis import given, strategies as st

from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE_JID,
    CID,
    CONV_JID,
    SUPPORT,
    VERA,
    body_of,
    make_conversation,
    posted,
    wire,
)
from xmpp_bridge.converters import (
    Stanza,
    custom_to_stanza,
    stanza_to_custom,
    xml_safe,
)
from xmpp_bridge.custom import (
    AgentMessage,
    AgentTyping,
    Bounced,
    ConversationUpdate,
    ErrorReply,
    ErrorType,
    Origin,
    PresenceKind,
    QueuePresence,
    ResourcePresence,
    Show,
    SubscriptionKind,
    SubscriptionStanza,
    TextReply,
    VisitorTyping,
)


def after_the_wire(text: str) -> str:
    """What any XML parser makes of ``text``: XML 1.0 turns CR and CRLF into LF."""
    return xml_safe(text).replace("\r\n", "\n").replace("\r", "\n")


def answered_by_agent(stanza: Stanza) -> Stanza:
    """The same stanza coming back from the agent's laptop to where it came from."""
    echoed = wire(stanza)
    sender, recipient = echoed.xml.attrib["from"], echoed.xml.attrib["to"]
    echoed.xml.attrib["from"] = f"{recipient}/laptop"
    echoed.xml.attrib["to"] = sender
    return wire(echoed)


visible_text = st.text(min_size=1).filter(lambda t: after_the_wire(t).strip() != "")


@given(text=st.text(min_size=1).filter(str.strip), name=st.text(min_size=1))
def test_any_visitor_text_and_name_reach_the_agent(text: str, name: str) -> None:
    event = posted(1, text, dataclasses.replace(VERA, name=name))

    [stanza] = custom_to_stanza(
        ConversationUpdate(conversation=make_conversation(), to=ALICE_JID, event=event), ADDRESSING
    )
    received = wire(stanza)

    assert body_of(received) == after_the_wire(text)
    nick = received.xml.find("{http://jabber.org/protocol/nick}nick")
    assert nick is not None
    assert (nick.text or "") == after_the_wire(name)


@given(text=visible_text.filter(lambda t: not t.lstrip().startswith("!")))
def test_agent_text_reads_back_as_the_same_message(text: str) -> None:
    [sent] = custom_to_stanza(
        TextReply(sender="alice@localhost/laptop", to=CONV_JID, text=text, stanza_id="s-1"),
        ADDRESSING,
    )

    received = stanza_to_custom(wire(sent), ADDRESSING)

    assert received is not None
    assert received.payload == AgentMessage(
        conversation_id=CID,
        text=after_the_wire(text),
        client_msg_id="xmpp:s-1",
    )


@given(text=st.text())
def test_double_bang_sends_a_literal_bang(text: str) -> None:
    [sent] = custom_to_stanza(
        TextReply(sender="alice@localhost/laptop", to=CONV_JID, text=f"!!{text}"), ADDRESSING
    )

    received = stanza_to_custom(wire(sent), ADDRESSING)

    assert received is not None
    assert received.payload == AgentMessage(conversation_id=CID, text=f"!{after_the_wire(text)}")


@given(composing=st.booleans())
def test_typing_sent_to_the_agent_reads_back_as_agent_typing(composing: bool) -> None:
    [sent] = custom_to_stanza(
        VisitorTyping(conversation=make_conversation(), to=ALICE_JID, composing=composing),
        ADDRESSING,
    )

    received = stanza_to_custom(answered_by_agent(sent), ADDRESSING)

    assert received is not None
    assert received.payload == AgentTyping(conversation_id=CID, composing=composing)


@given(
    condition=st.sampled_from(["forbidden", "not-allowed", "item-not-found", "bad-request"]),
    text=st.text(),
)
def test_error_replies_read_back_with_condition_and_text(condition: str, text: str) -> None:
    origin = Origin(
        kind="message", sender=f"{CONV_JID}/x", recipient="alice@localhost", address=ALICE_JID
    )
    [sent] = custom_to_stanza(
        ErrorReply(origin=origin, condition=condition, type=ErrorType.CANCEL, text=text),
        ADDRESSING,
    )

    received = stanza_to_custom(wire(sent), ADDRESSING)

    assert received is not None
    assert received.payload == Bounced(condition=condition, text=after_the_wire(text))


@given(kind=st.sampled_from(list(PresenceKind)))
def test_queue_presence_answered_in_kind_reads_back(kind: PresenceKind) -> None:
    [sent] = custom_to_stanza(QueuePresence(queue=SUPPORT, to=ALICE_JID, kind=kind), ADDRESSING)

    received = stanza_to_custom(answered_by_agent(sent), ADDRESSING)

    assert received is not None
    match kind:
        case PresenceKind.AVAILABLE:
            expected: object = ResourcePresence(
                address=ALICE_JID, resource="laptop", queue=SUPPORT, show=Show.AVAILABLE
            )
        case PresenceKind.UNAVAILABLE:
            expected = ResourcePresence(
                address=ALICE_JID, resource="laptop", queue=SUPPORT, show=None
            )
        case _:
            expected = SubscriptionStanza(
                address=ALICE_JID, queue=SUPPORT, kind=SubscriptionKind(kind.value)
            )
    assert received.payload == expected
