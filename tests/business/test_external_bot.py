"""A queue whose bot is the integrator's own (``BotKind.EXTERNAL``), on the fakes, SQLite
and PostgreSQL: the chat waits with the bot and the engine says nothing for it; the
integrator's bot answers (quick replies too) and hands over through the integrator use
cases, which is what its REST calls run; ``!bot`` gives the chat back to it."""

from __future__ import annotations

import dataclasses

from business import commands as c
from business.bot_model import BotConfig, BotKind, QuickReply
from business.events import MessagePosted
from business.model import ConversationState, Participant, ParticipantKind
from tests.business.bot_support import bot_messages, with_bot
from tests.business.integrator_support import post, transfer
from tests.harness import ALICE, World

SHOPBOT = Participant(kind=ParticipantKind.BOT, name="Shopbot", id="shopbot")
EXTERNAL = BotConfig(kind=BotKind.EXTERNAL, name="Shopbot")


async def test_the_engine_says_nothing_for_an_external_bot(bot_world: World) -> None:
    world = bot_world
    await with_bot(world, EXTERNAL)
    await world.agent(ALICE, name="Alice")
    conv = await world.start(await world.visitor(), text="hello")
    assert conv.state is ConversationState.BOT
    await world.visitor_says(conv.visitor_id, conv.id, "where is my order?")
    await world.visitor_says(conv.visitor_id, conv.id, "???")
    now = await world.conversations.get_conversation(conv.id)
    # Still with the bot: no greeting, no answer, no miss counted, nothing handed over,
    # and the ready agent was offered nothing.
    assert (now.state, now.bot_misses, now.offered_to) == (ConversationState.BOT, 0, None)
    assert bot_messages(world, conv) == []
    texts = [e.text for e in world.published(conv.id) if isinstance(e, MessagePosted)]
    assert texts == ["hello", "where is my order?", "???"]


async def test_the_integrators_bot_answers_and_hands_over(bot_world: World) -> None:
    world = bot_world
    await with_bot(world, EXTERNAL)
    conv = await world.start(await world.visitor(), text="hello")
    buttons = (QuickReply(id="track", label="Track my order"),)
    answer = dataclasses.replace(
        post(conv, "Hi! What can I do?", "b-1", sender=SHOPBOT), quick_replies=buttons
    )
    said = await world.services.integrator_messages.post(answer)
    assert (said.sender.kind, said.text, said.quick_replies) == (
        ParticipantKind.BOT,
        "Hi! What can I do?",
        buttons,
    )
    assert bot_messages(world, conv) == [said]

    await world.agent(ALICE, name="Alice")
    moved = await transfer(world, conv, queue=conv.queue)
    assert moved.state in (ConversationState.QUEUED, ConversationState.ACTIVE)
    settled = await world.conversations.get_conversation(conv.id)
    assert settled.agent_id == ALICE or settled.offered_to == ALICE


async def test_bot_gives_the_chat_back_to_the_external_bot_without_a_greeting(
    bot_world: World,
) -> None:
    world = bot_world
    await with_bot(world, EXTERNAL)
    await world.agent(ALICE, name="Alice", auto_accept=True)
    conv = await world.start(await world.visitor(), text="hello")
    await transfer(world, conv, queue=conv.queue)
    assert (await world.conversations.get_conversation(conv.id)).agent_id == ALICE

    back = await world.services.bots.send_back(
        c.ReturnToBot(agent_id=ALICE, conversation_id=conv.id)
    )
    assert (back.state, back.agent_id) == (ConversationState.BOT, None)
    assert bot_messages(world, conv) == []
