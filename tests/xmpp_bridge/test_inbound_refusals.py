"""What the bridge answers when it refuses an agent's stanza, and how it answers the engine's
addresses (split from ``test_inbound``)."""

from __future__ import annotations

import logging

import pytest
from slixmpp.stanza.error import Error

from business import commands as c
from business.conversation import Conversation
from business.events import MessagePosted
from business.model import ConversationId, ParticipantKind
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
from xmpp_bridge.agent_commands import Role, conversation_help
from xmpp_bridge.converters import COMPONENT_NS, parse_stanza, stanza_to_custom
from xmpp_bridge.inbound import CONDITIONS
from xmpp_bridge.link import StanzaTooLarge

ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"
AGENT_HELP = conversation_help({Role.AGENT})


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


async def active(world: World) -> Conversation:
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


def agent_messages(world: World, conversation: Conversation) -> list[str]:
    return [
        e.text
        for e in world.fakes.events[conversation.id]
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.AGENT
    ]


def conv_jid(conversation: Conversation) -> str:
    return f"c-{conversation.id}@chat.localhost"


async def test_message_to_someone_elses_conversation_is_refused(h: Harness) -> None:
    conversation = await active(h.world)
    await h.world.add_agent(BOB)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "let me in", agent="bob@localhost/desk"))

    error, text = await h.delivered()
    assert_xml(
        error,
        f"""
        <message from="{conv_jid(conversation)}" to="bob@localhost/desk" type="error" id="s1">
          <error type="auth">
            <forbidden xmlns="{ERR}"/>
            <text xmlns="{ERR}">you are not the agent of this conversation</text>
          </error>
        </message>
        """,
    )
    assert_xml(
        text,
        f'<message from="{conv_jid(conversation)}" to="bob@localhost" type="chat">'
        "<body>Not delivered: you are not the agent of this conversation.</body></message>",
        ignore_id=True,
    )
    assert agent_messages(h.world, conversation) == []


async def test_message_to_an_ended_conversation_is_refused(h: Harness) -> None:
    conversation = await active(h.world)
    await h.receive(from_agent(conversation.id, "!end"))
    await h.delivered()

    await h.receive(from_agent(conversation.id, "one more thing", stanza_id="late"))

    error, text = await h.delivered()
    condition = error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}not-allowed")
    assert condition is not None
    assert body_of(text) == "Not delivered: this conversation has ended."


async def test_end_of_an_ended_conversation_is_refused_readably(h: Harness) -> None:
    conversation = await active(h.world)
    await h.receive(from_agent(conversation.id, "!end"))
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!end", stanza_id="again"))

    _, text = await h.delivered()
    assert body_of(text) == "Could not end the chat: this conversation has already ended."


async def test_message_to_an_unknown_conversation_is_item_not_found(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(from_agent(ConversationId("nope"), "hello?"))

    error, _ = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}item-not-found") is not None


async def test_too_long_message_is_not_acceptable(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "x" * 4001))

    error, text = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}not-acceptable") is not None
    assert body_of(text) == "Not delivered: text is longer than 4000 characters."


async def test_message_to_a_nonexistent_address_is_item_not_found(h: Harness) -> None:
    await h.receive(
        '<message from="alice@localhost/x" to="c-@chat.localhost" type="chat" id="u1">'
        "<body>hello</body></message>"
    )

    [error] = await h.delivered()
    assert error.xml.attrib["type"] == "error"
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}item-not-found") is not None


def test_every_mapped_condition_is_one_slixmpp_can_write() -> None:
    # slixmpp silently drops conditions it does not know (it lacks RFC 6120's newer ones).
    assert Error.conditions >= CONDITIONS


async def test_unexpected_errors_are_logged_and_answered(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = await active(world)
    h = harness(world)

    async def broken(cmd: c.SendAgentMessage) -> MessagePosted:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(world.messaging, "send_agent_message", broken)

    with caplog.at_level(logging.ERROR, logger="xmpp_bridge.inbound"):
        await h.receive(from_agent(conversation.id, "hi"))

    error, text = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}internal-server-error") is not None
    assert body_of(text) == "Not delivered: something went wrong on our side."
    [record] = caplog.records
    assert record.exc_info is not None
    assert "database on fire" in str(record.exc_info[1])


async def test_replies_while_the_link_is_down_are_dropped_but_the_work_is_done(
    world: World,
) -> None:
    conversation = await active(world)
    h = harness(world, connected=False)

    await h.receive(from_agent(conversation.id, "stored anyway"))

    assert agent_messages(world, conversation) == ["stored anyway"]
    assert await h.delivered() == []


@pytest.mark.parametrize(
    "xml",
    [
        # A "Not delivered" reply of ours that came back to one of our own addresses.
        '<message from="c-aaaa@chat.localhost" to="c-bbbb@chat.localhost" type="chat" '
        'id="r1"><body>Not delivered: unknown conversation.</body></message>',
        '<message from="chat.localhost" to="chat.localhost" type="chat" id="r2">'
        "<body>Sorry: this service is for support agents.</body></message>",
        '<message from="support@chat.localhost" to="sales@chat.localhost" type="chat" '
        'id="r3"><body>status</body></message>',
        '<presence from="sales@chat.localhost" to="support@chat.localhost" type="probe"/>',
    ],
)
async def test_stanzas_from_the_engines_own_addresses_are_never_answered(
    h: Harness, xml: str
) -> None:
    # Whatever the engine answers goes to the sender: answering ourselves would be
    # answered again, for ever.
    received = stanza_to_custom(parse_stanza(xml), ADDRESSING)
    if received is not None:
        await h.inbound.dispatch(received)

    assert await h.delivered() == []


async def test_an_answer_the_link_refuses_as_too_large_is_logged_and_dropped(
    h: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = await active(h.world)

    def too_large(item: object) -> bool:
        raise StanzaTooLarge(size=70_000, budget=65_536)

    monkeypatch.setattr(h.link, "send", too_large)

    with caplog.at_level(logging.WARNING, logger="xmpp_bridge.inbound"):
        await h.receive(from_agent(conversation.id, "!help"))

    [record] = caplog.records
    assert "TextReply" in record.getMessage()


async def test_a_bounce_is_logged_on_one_line_and_cut_short(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # The error text comes from the agent's server: anything, of any length.
    text = "offline storage full\nERROR forged log line " + "x" * 10_000

    with caplog.at_level(logging.WARNING, logger="xmpp_bridge.inbound"):
        await h.receive(
            f'<message from="alice@localhost" to="c-abc@chat.localhost" type="error" id="e1">'
            f'<error type="cancel"><service-unavailable xmlns="{ERR}"/>'
            f'<text xmlns="{ERR}">{text}</text></error></message>'
        )

    [record] = caplog.records
    logged = record.getMessage()
    assert "service-unavailable" in logged
    assert "offline storage full\\nERROR forged" in logged
    assert "\n" not in logged
    assert len(logged) < 500
    assert await h.delivered() == []
