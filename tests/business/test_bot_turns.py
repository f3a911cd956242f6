"""The bot's turns run after the batch of messages that asked for them: a slow bot (an
external one's staging, a rules bot behind a slow store) holds up neither the ack of
the visitor's message nor the other visitors' messages, and a turn that fails is logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from business import commands as c
from business.bot_model import BotConfig, BotKind
from business.bot_ports import BotAction, BotReply
from business.conversation import Conversation
from business.events import MessagePosted
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.rules_bot import RulesBot
from tests.business.bot_support import BOT_CONFIG, shown, with_bot
from tests.harness import ALICE, SALES, World, make_world

ACK_WITHIN = 2.0
"""Seconds: far more than a message takes on the fakes, far less than forever."""


class GatedBot(RulesBot):
    """The rules bot, except that each answer waits for ``gate`` (greetings do not);
    with ``hand_over`` it answers every message by handing over."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()
        self.hand_over = False

    async def answer(
        self, conversation: Conversation, config: BotConfig, message: MessagePosted
    ) -> BotReply:
        self.asked.set()
        await self.gate.wait()
        if self.hand_over:
            return BotReply(action=BotAction.HANDOVER)
        return await super().answer(conversation, config, message)


async def gated_world() -> tuple[World, GatedBot]:
    bot = GatedBot()
    world = await make_world(bots={BotKind.RULES: bot})
    await with_bot(world)
    return world, bot


def send(conv: Conversation, text: str, client_msg_id: str) -> c.SendVisitorMessage:
    return c.SendVisitorMessage(
        visitor_id=conv.visitor_id, conversation_id=conv.id, client_msg_id=client_msg_id, text=text
    )


async def test_a_slow_bot_holds_up_neither_the_ack_nor_other_visitors() -> None:
    world, bot = await gated_world()
    with_the_bot = await world.start(await world.visitor())
    elsewhere = await world.start(await world.visitor(), queue=SALES, text="hi")
    messaging = world.services.messaging

    # One batch: the bot's chat first, then another visitor's, both acked while the bot
    # is still thinking about the first.
    acked = await asyncio.wait_for(
        asyncio.gather(
            messaging.send_visitor_message(send(with_the_bot, "any refund?", "m-1")),
            messaging.send_visitor_message(send(elsewhere, "hello?", "m-2")),
        ),
        ACK_WITHIN,
    )
    await asyncio.wait_for(bot.asked.wait(), ACK_WITHIN)
    # The next message goes through while the bot still thinks.
    later = await asyncio.wait_for(
        messaging.send_visitor_message(send(elsewhere, "still there?", "m-3")), ACK_WITHIN
    )
    assert [m.text for m in (*acked, later)] == ["any refund?", "hello?", "still there?"]
    assert shown(world, with_the_bot)[-1] == ("visitor", "any refund?")

    bot.gate.set()
    await world.services.bots.settled()
    # The answer comes after the message it answers.
    assert shown(world, with_the_bot)[-2:] == [
        ("visitor", "any refund?"),
        ("bot", "Refunds take five days."),
    ]


async def test_the_bot_answers_in_the_order_of_the_messages() -> None:
    world, bot = await gated_world()
    conv = await world.start(await world.visitor())
    before = conv.last_seq
    messaging = world.services.messaging
    for number, text in enumerate(("refund?", "Opening hours", "money back?")):
        await messaging.send_visitor_message(send(conv, text, f"m-{number}"))
    bot.gate.set()
    await world.services.bots.settled()

    assert [text for _, text in shown(world, conv, before)] == [
        "refund?",
        "Opening hours",
        "money back?",
        "Refunds take five days.",
        "We are open 9-17, Mon-Fri.",
        "Refunds take five days.",
    ]


async def test_a_failed_turn_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    world, bot = await gated_world()
    bot.hand_over = True
    conv = await world.start(await world.visitor())
    posted = await world.services.messaging.send_visitor_message(send(conv, "agent!", "m-1"))
    await asyncio.wait_for(bot.asked.wait(), ACK_WITHIN)
    # The queue vanishes under the bot (a store gone wrong): its hand-over cannot be stored.
    assert world.store is not None
    del world.store.queues[(DEFAULT_TENANT, DEFAULT_QUEUE)]
    bot.gate.set()
    with caplog.at_level(logging.ERROR, logger="business.bots"):
        await world.services.bots.settled()

    assert f"the bot could not answer message {posted.id}" in caplog.text
    assert conv.id in caplog.text


async def test_a_failed_dispatch_after_the_batch_loses_no_bot_turn(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = await make_world()
    await with_bot(world)
    await world.agent(ALICE, queues=(SALES,), auto_accept=False)
    offered = await world.start(await world.visitor(), queue=SALES, text="hi")
    assert offered.offered_to == ALICE
    with_the_bot = await world.start(await world.visitor())
    messaging = world.services.messaging

    async def broken(*args: object) -> None:
        raise RuntimeError("database hiccup")

    # One batch: Alice takes her offer (the queue is dispatched after the commit, and
    # that fails), the other visitor asks the bot.
    monkeypatch.setattr(world.router, "dispatch", broken)
    with caplog.at_level(logging.ERROR, logger="business.messaging"):
        acked = await asyncio.gather(
            messaging.send_agent_message(
                c.SendAgentMessage(
                    agent_id=ALICE,
                    conversation_id=offered.id,
                    text="Alice here",
                    client_msg_id="a-1",
                )
            ),
            messaging.send_visitor_message(send(with_the_bot, "any refund?", "m-1")),
        )
    monkeypatch.undo()
    await world.services.bots.settled()

    # The batch is committed and acknowledged as such, and the bot still answers.
    assert [m.text for m in acked] == ["Alice here", "any refund?"]
    assert "dispatch after a message batch failed" in caplog.text
    assert shown(world, with_the_bot)[-2:] == [
        ("visitor", "any refund?"),
        ("bot", "Refunds take five days."),
    ]


class SlowGreeter(RulesBot):
    """The rules bot, except that its greeting waits for ``gate``."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.greeting = asyncio.Event()

    async def greet(self, conversation: Conversation, config: BotConfig) -> BotReply:
        self.greeting.set()
        await self.gate.wait()
        return await super().greet(conversation, config)


async def test_a_message_sent_while_the_bot_greets_is_answered_after_the_first() -> None:
    bot = SlowGreeter()
    world = await make_world(bots={BotKind.RULES: bot})
    await with_bot(world)
    visitor = await world.visitor()

    # The first message opens the chat and waits for the greeting; the second comes in
    # while the bot still greets (an API address's burst in another request).
    first = asyncio.create_task(world.start(visitor, "any refund?"))
    await asyncio.wait_for(bot.greeting.wait(), ACK_WITHIN)
    [conv] = world.fakes.conversations.values()
    await asyncio.wait_for(
        world.services.messaging.send_visitor_message(send(conv, "Opening hours", "m-2")),
        ACK_WITHIN,
    )
    bot.gate.set()
    await first
    await world.services.bots.settled()

    said = [text for kind, text in shown(world, conv) if kind in ("visitor", "bot")]
    assert said == [
        "any refund?",
        "Opening hours",
        BOT_CONFIG.greeting,
        "Refunds take five days.",
        "We are open 9-17, Mon-Fri.",
    ]
