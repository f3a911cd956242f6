"""Which agents' files the engine copies into its store (``FileService.copy_agent_files``):
only those of an agent who may write to the chat, and only while it is open. A file sent
by anybody else is refused like their text, and fetches and stores nothing: the engine
must not download, nor keep, a file into another agent's (or tenant's) conversation."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.events import MessagePosted
from business.file_ports import FetchedFile
from tests.harness import World
from tests.xmpp_bridge.support import ALICE, BOB, Harness, from_agent, harness

SHARED = "https://upload.localhost/share/abc/manual.pdf"


@pytest.fixture
async def h(world: World) -> Harness:
    world.fetcher.files[SHARED] = FetchedFile(
        data=b"%PDF-1.4 manual", content_type="application/pdf", name="manual.pdf"
    )
    return harness(world)


async def active(world: World) -> Conversation:
    await world.add_agent(ALICE, ready=True)
    conversation = await world.start(await world.visitor(), "Hello")
    assert conversation.agent_id == ALICE
    return conversation


def shared_file(conversation: Conversation, agent: str, stanza_id: str) -> str:
    return from_agent(
        conversation.id,
        SHARED,
        agent=agent,
        stanza_id=stanza_id,
        extra=f'<x xmlns="jabber:x:oob"><url>{SHARED}</url></x>',
    )


async def test_the_chats_agent_file_is_copied(h: Harness) -> None:
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(shared_file(conversation, "alice@localhost/laptop", "f1"))

    [message] = [
        e
        for e in h.world.stored(conversation.id)
        if isinstance(e, MessagePosted) and e.client_msg_id == "xmpp:f1"
    ]
    [ref] = message.attachments
    assert ref.startswith("file:")
    assert len(h.world.blobs.blobs) == 1


async def test_a_file_from_an_agent_outside_the_chat_is_neither_fetched_nor_stored(
    h: Harness,
) -> None:
    conversation = await active(h.world)
    await h.world.add_agent(BOB)
    await h.delivered()

    await h.receive(shared_file(conversation, "bob@localhost/laptop", "f2"))

    assert h.world.fetcher.asked == []
    assert h.world.blobs.blobs == {}
    assert not any(
        isinstance(e, MessagePosted) and e.client_msg_id == "xmpp:f2"
        for e in h.world.stored(conversation.id)
    )


async def test_a_file_sent_to_an_ended_chat_is_neither_fetched_nor_stored(h: Harness) -> None:
    conversation = await active(h.world)
    await h.world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conversation.id)
    )
    await h.delivered()

    await h.receive(shared_file(conversation, "alice@localhost/laptop", "f3"))

    assert h.world.fetcher.asked == []
    assert h.world.blobs.blobs == {}


async def test_a_resent_file_message_is_neither_copied_again_nor_stored_twice(
    h: Harness,
) -> None:
    # Stream management resends a stanza whose ack was lost: the message is stored
    # once, and its file must not be fetched and kept a second time beside it.
    conversation = await active(h.world)
    await h.delivered()

    await h.receive(shared_file(conversation, "alice@localhost/laptop", "f4"))
    await h.receive(shared_file(conversation, "alice@localhost/laptop", "f4"))

    stored = [
        e
        for e in h.world.stored(conversation.id)
        if isinstance(e, MessagePosted) and e.client_msg_id == "xmpp:f4"
    ]
    assert len(stored) == 1
    assert [url for url, _ in h.world.fetcher.asked] == [SHARED]
    assert len(h.world.blobs.blobs) == 1
