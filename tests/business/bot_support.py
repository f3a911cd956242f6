"""Shared set-up of the bot tests: a bot-first ``support`` queue on the fakes, SQLite and
PostgreSQL, and what the visitor was shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from business import commands as c
from business.bot_model import BotConfig, BotFaq, BotMenuOption, QuickReply
from business.conversation import Conversation
from business.events import (
    DeskEvent,
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
)
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, QueueName
from tests.conftest import open_database
from tests.harness import World, assert_published_once, assert_store_consistent, make_world

BOT_CONFIG = BotConfig(
    name="Ava",
    greeting="Hi, I'm Ava. Pick a topic or ask me anything.",
    menu=(
        BotMenuOption(id="hours", label="Opening hours", answer="We are open 9-17, Mon-Fri."),
        BotMenuOption(id="person", label="Talk to a person", handover=True),
    ),
    faq=(BotFaq(keywords=("refund", "money back"), answer="Refunds take five days."),),
    handover_keywords=("agent", "human"),
    handover_after_misses=2,
    miss_text="Sorry, I did not get that.",
    handover_text="Connecting you with a person.",
    busy_text="Everyone is busy; please try again later.",
)
MENU = (
    QuickReply(id="hours", label="Opening hours"),
    QuickReply(id="person", label="Talk to a person"),
)


async def bot_world(param: str, tmp_path: Path) -> AsyncIterator[World]:
    """The engine with the bot first in ``support`` (``sales`` has none), on the fakes
    (checking the store's invariants afterwards), SQLite or PostgreSQL: the
    ``bot_world`` fixture of ``tests/business/conftest.py``."""
    if param == "fake":
        fake = await make_world()
        await with_bot(fake)
        yield fake
        assert_store_consistent(fake.fakes)
        assert_published_once(fake)
        return
    async with open_database(param, tmp_path) as db:
        real = await make_world(uow=db.unit_of_work)
        await with_bot(real)
        yield real


async def with_bot(
    world: World, config: BotConfig | None = BOT_CONFIG, queue: QueueName = DEFAULT_QUEUE
) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT, queue=queue, bot=config, remove_bot=config is None
        )
    )


async def now(world: World, conv: Conversation) -> Conversation:
    return await world.conversations.get_conversation(conv.id)


def shown(world: World, conv: Conversation, after_seq: int = 0) -> list[tuple[str, str]]:
    """What the visitor was sent after ``after_seq``: ("state", state), (kind, text) for
    messages, ("joined"/"left", name)."""
    seen: list[tuple[str, str]] = []
    for e in world.published(conv.id):
        if isinstance(e, DeskEvent) or e.seq <= after_seq:
            continue
        match e:
            case StateChanged(state=state):
                seen.append(("state", state.value))
            case MessagePosted(sender=who, text=text):
                seen.append((who.kind.value, text))
            case ParticipantJoined(participant=who):
                seen.append(("joined", who.name))
            case ParticipantLeft(participant=who):
                seen.append(("left", who.name))
            case _:
                seen.append((e.TYPE, ""))
    return seen


def bot_messages(world: World, conv: Conversation) -> list[MessagePosted]:
    return [
        e
        for e in world.published(conv.id)
        if isinstance(e, MessagePosted) and e.sender.kind.value == "bot"
    ]
