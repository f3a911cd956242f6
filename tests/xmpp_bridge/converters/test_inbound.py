"""Inbound converters: stanza XML as the server sends it in, the bridge's meaning out."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from business.model import ConversationId, QueueName
from tests.xmpp_bridge.support import ADDRESSING, ALICE_JID, SUPPORT
from xmpp_bridge.converters import client_msg_id_for, parse_stanza, stanza_to_custom
from xmpp_bridge.converters._stanza import receipt_requested
from xmpp_bridge.custom import (
    AgentMessage,
    AgentTyping,
    Bounced,
    EndChat,
    EngineHelp,
    EngineStatus,
    Origin,
    Payload,
    Received,
    ResourcePresence,
    Show,
    ShowHelp,
    SubscriptionKind,
    SubscriptionStanza,
    TransferTo,
    UnknownCommand,
    UnknownEngineCommand,
    Unroutable,
)

CONV = ConversationId("0123abcd")
CONV_JID = f"c-{CONV}@chat.localhost"


def read(xml: str) -> Received | None:
    return stanza_to_custom(parse_stanza(xml), ADDRESSING)


def payload(xml: str) -> Payload | None:
    received = read(xml)
    return None if received is None else received.payload


def chat(body: str, *, to: str = CONV_JID, stanza_id: str | None = "s1") -> str:
    id_attr = f' id="{stanza_id}"' if stanza_id is not None else ""
    return (
        f'<message from="alice@localhost/laptop" to="{to}" type="chat"{id_attr}>'
        f"<body>{body}</body></message>"
    )


def test_agent_message_to_a_conversation_is_stored_under_the_stanza_id() -> None:
    received = read(chat("Hi, how can I help?", stanza_id="abc-1"))

    assert received == Received(
        origin=Origin(
            kind="message",
            sender="alice@localhost/laptop",
            recipient=CONV_JID,
            address=ALICE_JID,
            stanza_id="abc-1",
        ),
        payload=AgentMessage(
            conversation_id=CONV,
            text="Hi, how can I help?",
            client_msg_id="xmpp:abc-1",
        ),
    )


def test_agent_message_without_id_has_no_client_msg_id() -> None:
    assert payload(chat("hi", stanza_id=None)) == AgentMessage(
        conversation_id=CONV, text="hi", client_msg_id=None
    )


def test_sender_jid_is_normalised_to_the_lower_case_bare_jid() -> None:
    xml = chat("x").replace("alice@localhost/laptop", "Alice@LocalHost/Phone")

    received = read(xml)

    assert received is not None
    assert received.origin.address == ALICE_JID


def test_message_of_type_normal_counts_as_chat() -> None:
    xml = f'<message from="alice@localhost/a" to="{CONV_JID}"><body>hello</body></message>'

    assert payload(xml) == AgentMessage(conversation_id=CONV, text="hello")


@pytest.mark.parametrize(
    "stanza_id",
    ["has space", "ünïcode", "x" * 200, "tab\there"],
)
def test_odd_stanza_ids_map_to_a_stable_valid_client_msg_id(stanza_id: str) -> None:
    value = client_msg_id_for(stanza_id)

    assert value == client_msg_id_for(stanza_id)
    assert value.startswith("xmpp:")
    assert len(value) <= 100
    assert all(0x21 <= ord(ch) <= 0x7E for ch in value)


def test_receipt_request_is_noticed() -> None:
    xml = (
        f'<message from="alice@localhost/a" to="{CONV_JID}" type="chat" id="r1"><body>x</body>'
        '<request xmlns="urn:xmpp:receipts"/></message>'
    )

    received = read(xml)

    assert received is not None
    assert received.origin.receipt_requested


@pytest.mark.parametrize(
    "extra",
    [
        "",
        '<request xmlns="urn:xmpp:receipts"/>',
        '<received xmlns="urn:xmpp:receipts" id="x"/>',
        "<request/>",  # the stanza's own namespace: not XEP-0184
        '<request xmlns="urn:xmpp:other"/>',
    ],
)
def test_receipt_requested_answers_as_slixmpps_plugin(extra: str) -> None:
    stanza = parse_stanza(
        f'<message from="alice@localhost/a" to="{CONV_JID}" type="chat" id="r1">'
        f"<body>x</body>{extra}</message>"
    )
    plugin: Any = parse_stanza(str(stanza))
    assert receipt_requested(stanza) is bool(plugin["request_receipt"])
    assert receipt_requested(stanza) is (extra.startswith('<request xmlns="urn:xmpp:receipts"'))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!help", ShowHelp(conversation_id=CONV)),
        ("  !HELP please", ShowHelp(conversation_id=CONV)),
        ("!end", EndChat(conversation_id=CONV)),
        ("!End now", EndChat(conversation_id=CONV, wrap_up="now")),
        ("!transfer bob", TransferTo(conversation_id=CONV, target="bob")),
        ("!", UnknownCommand(conversation_id=CONV, command="")),
        (
            "!!end is near",
            AgentMessage(conversation_id=CONV, text="!end is near", client_msg_id="xmpp:s1"),
        ),
        (
            "not !a command",
            AgentMessage(conversation_id=CONV, text="not !a command", client_msg_id="xmpp:s1"),
        ),
    ],
)
def test_bang_commands(body: str, expected: Payload) -> None:
    assert payload(chat(body)) == expected


@pytest.mark.parametrize(
    ("state", "composing"),
    [("composing", True), ("paused", False), ("active", False), ("inactive", False)],
)
def test_chat_states_become_agent_typing(state: str, composing: bool) -> None:
    xml = (
        f'<message from="alice@localhost/a" to="{CONV_JID}" type="chat">'
        f'<{state} xmlns="http://jabber.org/protocol/chatstates"/></message>'
    )

    assert payload(xml) == AgentTyping(conversation_id=CONV, composing=composing)


def test_body_wins_over_the_chat_state_that_rides_along() -> None:
    xml = (
        f'<message from="alice@localhost/a" to="{CONV_JID}" type="chat" id="i">'
        '<body>done</body><active xmlns="http://jabber.org/protocol/chatstates"/></message>'
    )

    assert isinstance(payload(xml), AgentMessage)


FROM_ALICE = f'<message from="alice@localhost/a" to="{CONV_JID}"'


@pytest.mark.parametrize(
    "xml",
    [
        # 'gone', or a receipt confirming nothing, carry nothing (receipts and markers:
        # tests/xmpp_bridge/converters/test_markers.py)
        f'{FROM_ALICE}><received xmlns="urn:xmpp:receipts"/></message>',
        f'{FROM_ALICE}><gone xmlns="http://jabber.org/protocol/chatstates"/></message>',
        f'{FROM_ALICE} type="chat"><body>   </body></message>',
        f'{FROM_ALICE} type="groupchat"><body>x</body></message>',
        f'{FROM_ALICE} type="headline"><body>x</body></message>',
        '<message from="alice@localhost/a" to="chat.localhost" type="chat"/>',
    ],
)
def test_ignored_messages(xml: str) -> None:
    assert read(xml) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("status", EngineStatus()),
        (" STATUS please", EngineStatus()),
        ("!status", EngineStatus()),
        ("help", EngineHelp()),
        ("!", EngineHelp()),
        ("what is this?", UnknownEngineCommand(command="what")),
    ],
)
def test_message_to_the_component_is_an_engine_command(body: str, expected: Payload) -> None:
    assert payload(chat(body, to="chat.localhost")) == expected


def test_message_to_a_queue_is_an_engine_command_at_that_queue() -> None:
    assert payload(chat("help", to="support@chat.localhost")) == EngineHelp(
        queue=QueueName("support")
    )


def test_message_to_an_empty_conversation_id_is_unroutable() -> None:
    assert payload(chat("hello", to="c-@chat.localhost")) == Unroutable()


def test_error_message_is_a_bounce_with_condition_and_text() -> None:
    xml = (
        f'<message from="alice@localhost" to="{CONV_JID}" type="error" id="e1">'
        '<error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>'
        '<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">offline storage full</text></error>'
        "</message>"
    )

    assert payload(xml) == Bounced(condition="service-unavailable", text="offline storage full")


def test_error_child_in_the_client_namespace_is_read_too() -> None:
    xml = (
        f'<message from="alice@localhost" to="{CONV_JID}" type="error">'
        '<error xmlns="jabber:client" type="wait">'
        '<resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>'
    )

    assert payload(xml) == Bounced(condition="resource-constraint", text="")


def test_error_without_details_is_an_undefined_condition() -> None:
    xml = f'<message from="alice@localhost" to="{CONV_JID}" type="error"/>'

    assert payload(xml) == Bounced(condition="undefined-condition", text="")


def presence(attrs: str = "", children: str = "", *, to: str = "support@chat.localhost") -> str:
    return f'<presence from="alice@localhost/laptop" to="{to}"{attrs}>{children}</presence>'


@pytest.mark.parametrize(
    ("children", "show"),
    [
        ("", Show.AVAILABLE),
        ("<show>chat</show>", Show.CHAT),
        ("<show>away</show>", Show.AWAY),
        ("<show>xa</show>", Show.XA),
        ("<show>dnd</show>", Show.DND),
        ("<show>bogus</show>", Show.AVAILABLE),
        ("<show>away</show><status>lunch</status><priority>5</priority>", Show.AWAY),
    ],
)
def test_available_presence_to_a_queue(children: str, show: Show) -> None:
    assert payload(presence(children=children)) == ResourcePresence(
        address=ALICE_JID, resource="laptop", queue=SUPPORT, show=show
    )


def test_unavailable_presence_to_a_queue() -> None:
    assert payload(presence(' type="unavailable"')) == ResourcePresence(
        address=ALICE_JID, resource="laptop", queue=SUPPORT, show=None
    )


def test_unavailable_from_the_bare_jid_has_no_resource() -> None:
    xml = '<presence from="alice@localhost" to="support@chat.localhost" type="unavailable"/>'

    assert payload(xml) == ResourcePresence(
        address=ALICE_JID, resource="", queue=SUPPORT, show=None
    )


@pytest.mark.parametrize("kind", list(SubscriptionKind))
def test_subscription_stanzas_and_probes(kind: SubscriptionKind) -> None:
    xml = f'<presence from="alice@localhost" to="support@chat.localhost" type="{kind.value}"/>'

    received = read(xml)

    assert received is not None
    assert received.payload == SubscriptionStanza(address=ALICE_JID, queue=SUPPORT, kind=kind)
    assert received.origin.kind == "presence"
    assert received.origin.recipient == "support@chat.localhost"


@pytest.mark.parametrize("to", [CONV_JID, "chat.localhost"])
def test_presence_to_other_jids_is_ignored(to: str) -> None:
    assert read(presence(to=to)) is None


def test_presence_error_is_a_bounce() -> None:
    xml = presence(
        ' type="error"',
        '<error type="cancel">'
        '<remote-server-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>',
    )

    assert payload(xml) == Bounced(condition="remote-server-not-found", text="")


def test_agent_id_of_an_odd_local_part_is_kept_as_the_server_normalised_it() -> None:
    # The business layer decides whether this is an agent; the converter only normalises.
    received = read(chat("hi").replace("alice@localhost/laptop", "Zoë@LOCALHOST/x"))

    assert received is not None
    assert received.origin.address == "zoë@localhost"


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("from", "al ice@localhost/x"),
        ("from", "@localhost"),
        ("to", "a@b@chat.localhost"),
        ("from", "forged&#10;WARNING root: all is well@localhost" + "x" * 5000),
    ],
)
def test_a_stanza_with_an_unparseable_address_is_logged_once_and_ignored(
    caplog: pytest.LogCaptureFixture, attribute: str, value: str
) -> None:
    addresses = {"from": "alice@localhost/laptop", "to": CONV_JID, attribute: value}
    xml = (
        f'<message from="{addresses["from"]}" to="{addresses["to"]}" type="chat" id="s1">'
        "<body>hi</body></message>"
    )

    with caplog.at_level(logging.WARNING):
        assert read(xml) is None

    [record] = [r for r in caplog.records if r.name.startswith("xmpp_bridge")]
    assert record.levelno == logging.WARNING
    logged = record.getMessage()
    assert attribute in logged
    # Rendered so that it cannot forge a log line, and bounded.
    assert "\n" not in logged
    assert len(logged) < 400
    assert repr(value.replace("&#10;", "\n"))[:20] in logged
