"""Inbound dispatch: agents' stanzas drive the business services; refusals are readable."""

from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from business.conversation import Conversation
from business.events import MessagePosted, ParticipantLeft, StateChanged, TypingChanged
from business.model import ConversationState, ParticipantKind
from tests.harness import World
from tests.xmpp_bridge.support import (
    ALICE,
    Harness,
    assert_xml,
    body_of,
    from_agent,
    harness,
)
from xmpp_bridge.agent_commands import Role, conversation_help
from xmpp_bridge.converters import COMPONENT_NS

ERR = "urn:ietf:params:xml:ns:xmpp-stanzas"
AGENT_HELP = conversation_help({Role.AGENT})


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


@pytest.fixture
async def h(world: World) -> Harness:
    return harness(world)


async def test_agent_message_is_stored_and_reaches_the_visitor_side(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "Hi Vera, how can I help?"))

    assert agent_messages(h.world, conversation) == ["Hi Vera, how can I help?"]
    published = [e for e in h.world.recorder.events() if isinstance(e, MessagePosted)]
    assert published[-1].text == "Hi Vera, how can I help?"
    assert published[-1].client_msg_id == "xmpp:s1"
    # The agent wrote it, so nothing comes back to them.
    assert await h.delivered() == []


async def test_a_resent_stanza_is_stored_once(h: Harness) -> None:
    conversation = await active(h.world)

    await h.receive(from_agent(conversation.id, "once", stanza_id="dup"))
    await h.receive(from_agent(conversation.id, "once", stanza_id="dup"))

    assert agent_messages(h.world, conversation) == ["once"]


async def test_receipt_is_sent_once_the_message_is_stored(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(
        from_agent(
            conversation.id, "ok", stanza_id="r-7", extra='<request xmlns="urn:xmpp:receipts"/>'
        )
    )

    [receipt] = await h.delivered()
    assert_xml(
        receipt,
        f'<message from="{conv_jid(conversation)}" to="alice@localhost/laptop">'
        '<received xmlns="urn:xmpp:receipts" id="r-7"/></message>',
        ignore_id=True,
    )


async def test_end_command_ends_the_conversation_and_the_agent_is_told(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!end"))

    assert h.world.conv(conversation.id).state is ConversationState.ENDED
    events = h.world.recorder.events()
    assert isinstance(events[-2], ParticipantLeft)
    assert isinstance(events[-1], StateChanged)
    assert events[-1].state is ConversationState.ENDED
    assert await h.bodies() == ["This chat has ended; messages sent here no longer reach anyone."]


async def test_double_bang_sends_the_literal_text(h: Harness) -> None:
    conversation = await active(h.world)

    await h.receive(from_agent(conversation.id, "!!end of story"))

    assert agent_messages(h.world, conversation) == ["!end of story"]
    assert h.world.conv(conversation.id).state is ConversationState.ACTIVE


async def test_help_command_answers_from_the_conversation(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!help"))

    [reply] = await h.delivered()
    assert_xml(
        reply,
        f'<message from="{conv_jid(conversation)}" to="alice@localhost" type="chat">'
        f"<body>{escape(AGENT_HELP)}</body></message>",
        ignore_id=True,
    )
    assert agent_messages(h.world, conversation) == []


async def test_unknown_command_is_answered_with_the_list(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!frobnicate bob"))

    assert await h.bodies() == [f"Unknown command !frobnicate.\n{AGENT_HELP}"]
    assert agent_messages(h.world, conversation) == []


@pytest.fixture
def supervisor_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every agent is a supervisor and nothing else. Today every agent has the agent
    role; the role checks are what supervisor-only and agent-only commands will rely on."""
    monkeypatch.setattr("xmpp_bridge.inbound.roles_of", lambda agent: {Role.SUPERVISOR})
    monkeypatch.setattr(
        "xmpp_bridge.inbound.roles_here", lambda agent, conversation: {Role.SUPERVISOR}
    )


@pytest.mark.usefixtures("supervisor_only")
async def test_a_command_outside_the_senders_roles_is_refused_and_changes_nothing(
    h: Harness,
) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!end"))

    error, text = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}forbidden") is not None
    assert body_of(text) == "Could not end the chat: !end is not one of your commands here."
    assert h.world.conv(conversation.id).state is ConversationState.ACTIVE


@pytest.mark.usefixtures("supervisor_only")
async def test_help_lists_only_the_senders_commands(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!help"))

    [text] = await h.bodies()
    assert "!help - this list" in text
    assert "!end" not in text


async def test_strangers_get_no_commands_in_a_conversation(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(from_agent(conversation.id, "!help", agent="eve@localhost/x"))

    error, text = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}forbidden") is not None
    assert body_of(text) == "Sorry: you are not the agent of this conversation."


async def test_agent_typing_is_published_for_the_visitor(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(
        f'<message from="alice@localhost/laptop" to="{conv_jid(conversation)}" type="chat">'
        '<composing xmlns="http://jabber.org/protocol/chatstates"/></message>'
    )

    typing = h.world.recorder.events()[-1]
    assert isinstance(typing, TypingChanged)
    assert typing.composing
    assert typing.sender.kind is ParticipantKind.AGENT
    # Not echoed back to the agent who typed.
    assert await h.delivered() == []


async def test_typing_in_someone_elses_conversation_is_dropped_quietly(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()
    before = len(h.world.recorder.events())

    await h.receive(
        f'<message from="bob@localhost/x" to="{conv_jid(conversation)}" type="chat">'
        '<composing xmlns="http://jabber.org/protocol/chatstates"/></message>'
    )

    assert len(h.world.recorder.events()) == before
    assert await h.delivered() == []


async def test_engine_status_for_an_agent(h: Harness) -> None:
    await h.world.add_agent(ALICE, ready=True)

    await h.receive(
        '<message from="alice@localhost/laptop" to="chat.localhost" type="chat">'
        "<body>status</body></message>"
    )

    [reply] = await h.delivered()
    assert_xml(
        reply,
        '<message from="chat.localhost" to="alice@localhost" type="chat">'
        "<body>You are ready for chats, up to 3 at a time, in queues: support.</body></message>",
        ignore_id=True,
    )


async def test_engine_help_from_a_queue_jid(h: Harness) -> None:
    await h.world.add_agent(ALICE)

    await h.receive(
        '<message from="alice@localhost/laptop" to="support@chat.localhost" type="chat">'
        "<body>what is this?</body></message>"
    )

    [reply] = await h.delivered()
    text = body_of(reply)
    assert reply.xml.attrib["from"] == "support@chat.localhost"
    assert text is not None
    assert text.startswith("Unknown command 'what'.\nThis is the chat engine.")
    assert "away is not ready" in text


async def test_strangers_get_no_service_from_the_engine(h: Harness) -> None:
    await h.receive(
        '<message from="eve@localhost/x" to="chat.localhost" type="chat" id="e1">'
        "<body>help</body></message>"
    )

    error, text = await h.delivered()
    assert error.xml.find(f"{{{COMPONENT_NS}}}error/{{{ERR}}}forbidden") is not None
    assert body_of(text) == "Sorry: this service is for support agents."
