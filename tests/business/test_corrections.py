"""Corrections (AGENT-DESK.md, "Receipts, markers, corrections, files"): an agent's
XEP-0308 correction of their last message reaches the visitor as ``message.updated``,
naming the message it replaces; anything else is refused and changes nothing."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.corrections import NOT_THE_LAST
from business.errors import Forbidden, InvalidInput, InvalidTransition
from business.events import MessagePosted, MessageUpdated
from tests.business.desk_worlds import chat_with_alice, desk, synced
from tests.harness import ALICE, BOB, World

__all__ = ["desk"]


def correction(
    conv: Conversation, replaces: str, text: str, agent: str = ALICE
) -> c.CorrectAgentMessage:
    return c.CorrectAgentMessage(
        agent_id=agent,  # type: ignore[arg-type]
        conversation_id=conv.id,
        replaces=replaces,
        text=text,
    )


async def test_a_correction_of_the_last_message_reaches_the_visitor(desk: World) -> None:
    conv = await chat_with_alice(desk)
    original = await desk.agent_says(ALICE, conv.id, "See you Monday", "xmpp:s1")
    await desk.say(conv, "ok", "m-2")  # the visitor's words do not make it older

    updated = await desk.services.corrections.correct_agent_message(
        correction(conv, "xmpp:s1", "See you Tuesday")
    )

    assert updated.replaces == original.id
    assert updated.text == "See you Tuesday"
    assert updated.sender == original.sender
    events = await synced(desk, conv)
    assert events[-1] == updated
    assert updated.seq == len(events)
    # The message itself is kept as it was; the visitor applies the update to it.
    assert original in events
    assert updated in desk.published(conv.id)


async def test_a_correction_can_be_corrected_again(desk: World) -> None:
    conv = await chat_with_alice(desk)
    original = await desk.agent_says(ALICE, conv.id, "Monday", "xmpp:s1")
    corrections = desk.services.corrections

    await corrections.correct_agent_message(correction(conv, "xmpp:s1", "Tuesday"))
    again = await corrections.correct_agent_message(correction(conv, "xmpp:s1", "Wednesday"))

    updates = [e for e in await synced(desk, conv) if isinstance(e, MessageUpdated)]
    assert [(u.replaces, u.text) for u in updates] == [
        (original.id, "Tuesday"),
        (original.id, "Wednesday"),
    ]
    assert again == updates[-1]


async def test_only_the_agents_own_last_message_can_be_corrected(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent_says(ALICE, conv.id, "first", "xmpp:s1")
    await desk.agent_says(ALICE, conv.id, "second", "xmpp:s2")
    visitor_message = await desk.say(conv, "and me", "m-3")
    assert visitor_message.client_msg_id is not None
    before = await synced(desk, conv)

    for replaces in ("xmpp:s1", visitor_message.client_msg_id, "xmpp:never-sent"):
        with pytest.raises(InvalidInput, match=NOT_THE_LAST):
            await desk.services.corrections.correct_agent_message(
                correction(conv, replaces, "changed")
            )

    assert await synced(desk, conv) == before


async def test_a_correction_is_refused_in_somebody_elses_or_an_ended_chat(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(BOB, name="Bob", max_chats=10)
    await desk.agent_says(ALICE, conv.id, "Monday", "xmpp:s1")

    with pytest.raises(Forbidden):
        await desk.services.corrections.correct_agent_message(
            correction(conv, "xmpp:s1", "mine now", agent=BOB)
        )
    with pytest.raises(InvalidInput):
        await desk.services.corrections.correct_agent_message(correction(conv, "xmpp:s1", "  "))
    await desk.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    with pytest.raises(InvalidTransition):
        await desk.services.corrections.correct_agent_message(
            correction(conv, "xmpp:s1", "too late")
        )

    assert not [e for e in await synced(desk, conv) if isinstance(e, MessageUpdated)]


async def test_an_agents_file_is_stored_as_an_attachment(desk: World) -> None:
    conv = await chat_with_alice(desk)
    url = "https://files.example/invoice.pdf"

    stored = await desk.messaging.send_agent_message(
        c.SendAgentMessage(
            agent_id=ALICE,
            conversation_id=conv.id,
            text="",
            client_msg_id="xmpp:f1",
            attachments=(url,),
        )
    )

    assert isinstance(stored, MessagePosted)
    assert (stored.text, stored.attachments) == ("", (url,))
    [message] = [e for e in await synced(desk, conv) if isinstance(e, MessagePosted)][-1:]
    assert message == stored


async def test_an_agents_file_must_be_a_web_address_and_text_is_still_required_without_one(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    before = await synced(desk, conv)

    for attachments, text in (
        (("file:///etc/passwd",), ""),
        (("https://files.example/a b.pdf",), ""),
        ((), ""),
    ):
        with pytest.raises(InvalidInput):
            await desk.messaging.send_agent_message(
                c.SendAgentMessage(
                    agent_id=ALICE, conversation_id=conv.id, text=text, attachments=attachments
                )
            )

    assert await synced(desk, conv) == before
