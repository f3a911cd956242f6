"""The engine's stop: the web server goes first, then the bot answers what visitors said
last while the webhooks, the offer clock and the XMPP bridge still carry its answers;
a bot that does not answer in time is logged with the chats it left unanswered."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from business import commands as c
from business.bot_model import BotConfig, BotKind
from business.bot_ports import BotReply
from business.conversation import Conversation
from business.events import MessagePosted
from business.rules_bot import RulesBot
from chat_engine.engine import Engine, settle_bots
from tests.business.bot_support import with_bot
from tests.harness import make_world


class SilentBot(RulesBot):
    """The rules bot, except that it never answers a message (its greeting it does)."""

    async def answer(
        self, conversation: Conversation, config: BotConfig, message: MessagePosted
    ) -> BotReply:
        await asyncio.Event().wait()
        raise AssertionError("never")


async def test_a_bot_that_does_not_answer_in_time_is_logged_with_its_chats(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = await make_world(bots={BotKind.RULES: SilentBot()})
    await with_bot(world)
    conv = await world.start(await world.visitor())
    await world.services.messaging.send_visitor_message(
        c.SendVisitorMessage(
            visitor_id=conv.visitor_id, conversation_id=conv.id, client_msg_id="m-1", text="hi?"
        )
    )
    assert world.services.bots.unanswered() == [conv.id]

    with caplog.at_level(logging.ERROR, logger="chat_engine.engine"):
        await settle_bots(world.services.bots, 0.05)

    assert f"the bot did not answer in time in conversations {conv.id}" in caplog.text


class Part:
    def __init__(self, name: str, stopped: list[str]) -> None:
        self._name = name
        self._stopped = stopped

    async def _stop(self) -> None:
        self._stopped.append(self._name)

    def __getattr__(self, method: str) -> object:  # stop, cleanup, close, dispose
        return self._stop


class Bots:
    def __init__(self, stopped: list[str]) -> None:
        self._stopped = stopped

    async def settled(self) -> None:
        self._stopped.append("bot")


async def test_the_bot_settles_after_the_web_server_and_before_the_rest() -> None:
    stopped: list[str] = []
    engine = Engine(SimpleNamespace(xmpp=SimpleNamespace(secret="s")))  # type: ignore[arg-type]
    for attribute in (
        "runner",
        "transcript_mails",
        "webhooks",
        "webhook_transport",
        "offer_clock",
        "file_purger",
        "retention_purger",
        "bridge",
        "blobs",
        "database",
    ):
        setattr(engine, f"_{attribute}", Part(attribute, stopped))
    engine._services = SimpleNamespace(bots=Bots(stopped))  # type: ignore[assignment]

    await engine.stop()

    assert stopped[:2] == ["runner", "bot"]
    assert sorted(stopped[2:]) == sorted(
        [
            *("transcript_mails", "webhooks", "webhook_transport", "offer_clock"),
            *("file_purger", "retention_purger", "bridge", "blobs", "database"),
        ]
    )
    # The blob store outlives the bridge (which copies agents' files into it).
    assert stopped.index("bridge") < stopped.index("blobs")
