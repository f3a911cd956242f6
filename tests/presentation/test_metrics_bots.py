"""``GET /metrics`` with a bot-first queue (SQLite and PostgreSQL, a clock moved by
hand past the live counts' cache): a chat with the bot is counted in state ``bot`` and
not as waiting; the hand-over moves it to ``queued``; the bot's messages have their own
direction."""

from __future__ import annotations

from business import commands as c
from business.live_counts import DEFAULT_MAX_AGE
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data import Database
from tests.business.bot_support import BOT_CONFIG
from tests.fakes import FakeClock
from tests.harness import make_world
from tests.presentation.conftest import StartServer
from tests.presentation.test_metrics import SUPPORT, key, parse, scrape


async def test_a_chat_with_the_bot_is_counted_in_state_bot_until_it_is_handed_over(
    database: Database, start_server: StartServer
) -> None:
    world = await make_world(uow=database.unit_of_work, clock=FakeClock(), queues=(DEFAULT_QUEUE,))
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=BOT_CONFIG)
    )
    server = await start_server(world=world)
    conv = await world.start(await world.visitor(), text="refund?")

    with_bot = parse((await scrape(server.url))[1])
    assert {
        state: with_bot[key("chat_conversations", SUPPORT, state=state)] for state in STATES
    } == {
        "bot": 1,
        "queued": 0,
        "active": 0,
        "on_hold": 0,
    }
    assert with_bot[key("chat_queue_waiting", SUPPORT)] == 0
    # The greeting and the answer to the first message.
    assert with_bot[key("chat_messages_total", SUPPORT, direction="bot_to_visitor")] == 2
    assert with_bot[key("chat_messages_total", SUPPORT, direction="visitor_to_agent")] == 1

    await world.visitor_says(conv.visitor_id, conv.id, "Talk to a person")
    world.advance(DEFAULT_MAX_AGE)  # past the live counts' cache

    handed_over = parse((await scrape(server.url))[1])
    assert handed_over[key("chat_conversations", SUPPORT, state="bot")] == 0
    assert handed_over[key("chat_conversations", SUPPORT, state="queued")] == 1
    assert handed_over[key("chat_queue_waiting", SUPPORT)] == 1
    assert handed_over[key("chat_conversations_started_total", SUPPORT)] == 1


STATES = ("bot", "queued", "active", "on_hold")
