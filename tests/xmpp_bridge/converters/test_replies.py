"""The converters' replies to agents: text replies, errors, receipts, queue presence, wait
times (split from ``test_outbound``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from business.events import (
    ConversationEvent,
    MessagePosted,
    StateChanged,
)
from business.model import (
    ConversationState,
    Participant,
    ParticipantKind,
)
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import (
    ADDRESSING,
    ALICE_JID,
    CID,
    CONV_JID,
    SUPPORT,
    T0,
    assert_xml,
)
from xmpp_bridge.converters import custom_to_stanza, format_duration
from xmpp_bridge.custom import (
    ErrorReply,
    ErrorType,
    Origin,
    PresenceKind,
    QueuePresence,
    Receipt,
    TextReply,
)

# A name that needs escaping in XML, everywhere it shows.
VISITOR = Participant(kind=ParticipantKind.VISITOR, name="Vera <V&V>", id="v1")


# Queued (pos 1) and a message (pos 2), then offered to Alice 75 s after the start.
# Alice took it at once (auto-accept): offer.closed (pos 4), participant.joined (seq 3,
# pos 5) and state.changed active (seq 4, pos 6); then one more visible event.


MESSAGE_ORIGIN = Origin(
    kind="message",
    sender="alice@localhost/laptop",
    recipient=CONV_JID,
    address=ALICE_JID,
    stanza_id="s1",
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


def test_text_reply() -> None:
    [stanza] = custom_to_stanza(
        TextReply(sender=CONV_JID, to=ALICE_JID, text="Commands: !end", stanza_id="r1"), ADDRESSING
    )

    assert_xml(
        stanza,
        f'<message from="{CONV_JID}" to="alice@localhost" type="chat" id="r1">'
        "<body>Commands: !end</body></message>",
    )


def test_error_reply_bounces_the_message_in_the_component_namespace() -> None:
    [stanza] = custom_to_stanza(
        ErrorReply(
            origin=MESSAGE_ORIGIN,
            condition="not-allowed",
            type=ErrorType.CANCEL,
            text="this conversation has ended",
        ),
        ADDRESSING,
    )

    assert_xml(
        stanza,
        f"""
        <message from="{CONV_JID}" to="alice@localhost/laptop" type="error" id="s1">
          <error type="cancel">
            <not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>
            <text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">this conversation has ended</text>
          </error>
        </message>
        """,
    )


def test_error_reply_to_a_presence() -> None:
    origin = Origin(
        kind="presence",
        sender="eve@localhost",
        recipient="support@chat.localhost",
        address=ALICE_JID,
    )

    [stanza] = custom_to_stanza(
        ErrorReply(origin=origin, condition="forbidden", type=ErrorType.AUTH, text=""), ADDRESSING
    )

    assert_xml(
        stanza,
        """
        <presence from="support@chat.localhost" to="eve@localhost" type="error">
          <error type="auth"><forbidden xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>
        </presence>
        """,
    )


def test_receipt_acknowledges_the_agents_stanza_id() -> None:
    [stanza] = custom_to_stanza(Receipt(origin=MESSAGE_ORIGIN, stanza_id="k9"), ADDRESSING)

    assert_xml(
        stanza,
        f'<message from="{CONV_JID}" to="alice@localhost/laptop" id="k9">'
        '<received xmlns="urn:xmpp:receipts" id="s1"/></message>',
    )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (
            PresenceKind.AVAILABLE,
            '<presence from="support@chat.localhost" to="alice@localhost"/>',
        ),
        (
            PresenceKind.UNAVAILABLE,
            '<presence from="support@chat.localhost" to="alice@localhost" type="unavailable"/>',
        ),
        (
            PresenceKind.SUBSCRIBE,
            '<presence from="support@chat.localhost" to="alice@localhost" type="subscribe">'
            '<nick xmlns="http://jabber.org/protocol/nick">support</nick></presence>',
        ),
        (
            PresenceKind.SUBSCRIBED,
            '<presence from="support@chat.localhost" to="alice@localhost" type="subscribed"/>',
        ),
        (
            PresenceKind.UNSUBSCRIBED,
            '<presence from="support@chat.localhost" to="alice@localhost" type="unsubscribed"/>',
        ),
        (
            PresenceKind.PROBE,
            '<presence from="support@chat.localhost" to="alice@localhost" type="probe"/>',
        ),
    ],
)
def test_queue_presence(kind: PresenceKind, expected: str) -> None:
    [stanza] = custom_to_stanza(QueuePresence(queue=SUPPORT, to=ALICE_JID, kind=kind), ADDRESSING)

    assert_xml(stanza, expected)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (75, "1 min 15 s"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
    ],
)
def test_wait_times_read_naturally(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
