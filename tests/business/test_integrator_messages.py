"""Messages as a bot or the system (``business.integrator_messages``), on the fakes,
SQLite and PostgreSQL: stored and published like any message, idempotent on the
caller's ``client_msg_id`` by the visitor's rules, refused on an ended conversation and
across tenants."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from business import commands as c
from business.errors import InvalidInput, InvalidTransition, NotFound, TooLarge
from business.events import MessagePosted
from business.model import DEFAULT_TENANT, Participant, ParticipantKind
from tests.business.integrator_support import (
    GLOBEX,
    HELPER,
    any_world,
    chat_with_alice,
    fake_world,
    globex_chat,
    post,
)
from tests.business.support import nothing_stored
from tests.harness import ALICE, World

__all__ = ["any_world", "fake_world"]

SYSTEM = Participant(kind=ParticipantKind.SYSTEM, name="Acme Orders")


async def synced(world: World, conv_id: str, visitor_id: str) -> list[object]:
    result = await world.history.sync(
        c.SyncEvents(visitor_id=visitor_id, conversation_id=conv_id, after_seq=0)  # type: ignore[arg-type]
    )
    return list(result.events)


async def test_a_bots_message_reaches_the_visitor_with_the_next_seq(any_world: World) -> None:
    world = any_world
    conv = await chat_with_alice(world)

    posted = await world.services.integrator_messages.post(post(conv, "Your order shipped", "o-1"))

    assert posted.sender == HELPER
    assert posted.text == "Your order shipped"
    assert posted.client_msg_id == "o-1"
    assert posted.seq == conv.last_seq + 1
    assert (await synced(world, conv.id, conv.visitor_id))[-1] == posted
    assert world.published(conv.id)[-1] == posted
    after = await world.conversations.get_conversation(conv.id)
    assert after.last_seq == posted.seq
    # The agent's delivery goes on as for any message: it is theirs to receive.
    assert after.agent_delivered_pos < posted.pos


async def test_a_retry_returns_the_stored_message_and_publishes_nothing(any_world: World) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    messages = world.services.integrator_messages
    first = await messages.post(post(conv, "Your order shipped", "o-1"))
    published = len(world.published())

    again = await messages.post(post(conv, "Your order shipped", "o-1"))
    assert again == first
    assert len(world.published()) == published
    # Even once the chat has ended: a retry is answered, not refused.
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    assert await messages.post(post(conv, "Your order shipped", "o-1")) == first
    said = [
        e for e in await synced(world, conv.id, conv.visitor_id) if isinstance(e, MessagePosted)
    ]
    assert [m.client_msg_id for m in said].count("o-1") == 1


async def test_retries_racing_each_other_store_one_message(any_world: World) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    messages = world.services.integrator_messages
    answers = await asyncio.gather(*(messages.post(post(conv, "hi", "o-1")) for _ in range(3)))
    assert len({answer.id for answer in answers}) == 1
    said = [
        e for e in await synced(world, conv.id, conv.visitor_id) if isinstance(e, MessagePosted)
    ]
    assert [m.text for m in said] == ["hello", "hi"]


async def test_an_id_used_by_somebody_else_is_refused(any_world: World) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    await world.say(conv, "mine", "shared-id")
    await world.services.integrator_messages.post(post(conv, "system", "sys-1", sender=SYSTEM))
    messages = world.services.integrator_messages
    with pytest.raises(InvalidInput, match="already used"):
        await messages.post(post(conv, "bot", "shared-id"))
    # The system's id is not the bot's either.
    with pytest.raises(InvalidInput, match="already used"):
        await messages.post(post(conv, "bot", "sys-1"))


async def test_an_ended_conversation_refuses_a_new_message(fake_world: World) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    with nothing_stored(world), pytest.raises(InvalidTransition, match="ended"):
        await world.services.integrator_messages.post(post(conv, "too late", "o-9"))


async def test_another_tenants_conversation_is_not_found(fake_world: World) -> None:
    world = fake_world
    theirs = await globex_chat(world)
    with nothing_stored(world), pytest.raises(NotFound, match="unknown conversation"):
        await world.services.integrator_messages.post(
            post(theirs, "hello", "o-1", tenant_id=DEFAULT_TENANT)
        )
    # Their own tenant may.
    posted = await world.services.integrator_messages.post(
        post(theirs, "hello", "o-1", tenant_id=GLOBEX)
    )
    assert posted.conversation_id == theirs.id


async def test_a_waiting_chat_takes_a_message_from_the_system(fake_world: World) -> None:
    world = fake_world
    conv = await world.start(await world.visitor(), text="anyone?")
    posted = await world.services.integrator_messages.post(
        post(conv, "All agents are busy; we answer within the hour.", "q-1", sender=SYSTEM)
    )
    assert posted.sender.kind is ParticipantKind.SYSTEM
    assert (await synced(world, conv.id, conv.visitor_id))[-1] == posted


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"sender": Participant(kind=ParticipantKind.AGENT, name="A")}, InvalidInput, "bot"),
        ({"sender": Participant(kind=ParticipantKind.VISITOR, name="V")}, InvalidInput, "bot"),
        ({"sender": dataclasses.replace(HELPER, name="  ")}, InvalidInput, "must not be empty"),
        ({"sender": dataclasses.replace(HELPER, name="x" * 101)}, TooLarge, "longer than 100"),
        ({"sender": dataclasses.replace(HELPER, name="a\x00b")}, InvalidInput, "NUL"),
        ({"text": "   "}, InvalidInput, "must not be empty"),
        ({"text": "x" * 4001}, TooLarge, "longer than 4000"),
        ({"client_msg_id": ""}, InvalidInput, "client_msg_id"),
        ({"client_msg_id": "api:B"}, InvalidInput, "must not start with 'api:'"),
        ({"client_msg_id": "xmpp:B"}, InvalidInput, "must not start with"),
        ({"attachments": ("ftp://files.example/a",)}, InvalidInput, "http"),
    ],
)
async def test_a_malformed_message_is_refused_before_anything_is_read(
    fake_world: World, change: dict[str, object], error: type[Exception], message: str
) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    cmd = dataclasses.replace(post(conv, "hello", "o-1"), **change)  # type: ignore[arg-type]
    with nothing_stored(world), pytest.raises(error, match=message):
        await world.services.integrator_messages.post(cmd)


async def test_a_file_may_go_without_text_and_the_name_is_trimmed(fake_world: World) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    cmd = dataclasses.replace(
        post(conv, "", "f-1", sender=dataclasses.replace(HELPER, name="  Helper ")),
        attachments=("https://files.example/invoice.pdf",),
    )
    posted = await world.services.integrator_messages.post(cmd)
    assert posted.attachments == ("https://files.example/invoice.pdf",)
    assert posted.sender.name == "Helper"
