"""Inactivity (``business.inactivity``): per queue, the silent visitor is alerted and
the chat closed; the agent who leaves a visitor unanswered is reminded and the chat
re-routed; in messaging mode the visit ends after a day without messages. Deadlines are
stored with the conversation, so a new service instance (another process, a restart)
runs them.

Every rule runs on the fakes, SQLite and PostgreSQL with the fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import InvalidInput
from business.events import (
    IdleNoticed,
    MessagePosted,
    ParticipantLeft,
    StateChanged,
)
from business.inactivity import InactivityClock
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationState,
    OfferKind,
    ParticipantKind,
)
from tests.conftest import BACKENDS, open_database
from tests.harness import ALICE, BOB, World, assert_store_consistent, make_world

ACTIVE = ConversationState.ACTIVE
ENDED = ConversationState.ENDED
QUEUED = ConversationState.QUEUED
ON_HOLD = ConversationState.ON_HOLD


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "fake":
        fake = await make_world()
        yield fake
        assert_store_consistent(fake.fakes)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await make_world(uow=db.unit_of_work)


async def configure(world: World, **settings: object) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, **settings)  # type: ignore[arg-type]
    )


async def chat(world: World) -> Conversation:
    await world.agent(ALICE)
    conv = await world.start(await world.visitor(), text="hello")
    assert conv.state is ACTIVE
    assert conv.agent_id == ALICE
    return conv


async def run(world: World, seconds: float) -> int:
    world.advance(seconds)
    return await world.services.inactivity.run_due()


async def now(world: World, conv: Conversation) -> Conversation:
    return await world.conversations.get_conversation(conv.id)


def system_texts(world: World, conv: Conversation) -> list[str]:
    return [
        e.text
        for e in world.published(conv.id)
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.SYSTEM
    ]


def notices(world: World, conv: Conversation) -> list[tuple[str, int]]:
    return [(e.kind, e.minutes) for e in world.published(conv.id) if isinstance(e, IdleNoticed)]


# -- the visitor's silence -------------------------------------------------------------


async def test_silent_visitor_is_alerted_then_the_chat_closes_for_inactivity(
    world: World,
) -> None:
    await configure(world, visitor_idle_alert=120, visitor_idle_close=60)
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "How can I help?")

    assert await run(world, 119) == 0
    assert system_texts(world, conv) == []
    assert await run(world, 1) == 1
    assert system_texts(world, conv) == [
        "Are you still there? This chat will close soon if we don't hear from you."
    ]
    assert (await now(world, conv)).state is ACTIVE

    assert await run(world, 59) == 0
    assert await run(world, 1) == 1
    ended = await now(world, conv)
    assert ended.state is ENDED
    assert ended.idle_due_at is None
    assert system_texts(world, conv)[-1] == "This chat was closed because of inactivity."
    end = [e for e in world.published(conv.id) if isinstance(e, StateChanged)][-1]
    assert end.state is ENDED
    assert end.reason == "inactivity"
    assert end.by is not None
    assert end.by.kind is ParticipantKind.SYSTEM
    # Nothing more is due: running again does nothing.
    assert await run(world, 600) == 0


async def test_a_visitor_message_resets_the_visitor_clock(world: World) -> None:
    await configure(world, visitor_idle_alert=120, visitor_idle_close=60)
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "How can I help?")
    world.advance(100)
    await world.say(conv, "one moment", "v2")
    assert await run(world, 100) == 0  # 200 s after the agent, 100 s after the visitor
    await world.agent_says(ALICE, conv.id, "Sure")
    assert await run(world, 119) == 0
    assert await run(world, 1) == 1
    # The alert, then the visitor answers: no close.
    await world.say(conv, "back", "v3")
    assert await run(world, 3600) == 0
    assert (await now(world, conv)).state is ACTIVE
    assert len(system_texts(world, conv)) == 1


async def test_alert_without_close_leaves_the_chat_open(world: World) -> None:
    await configure(world, visitor_idle_alert=60)
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "Hi")
    assert await run(world, 60) == 1
    assert await run(world, 86400) == 0
    assert (await now(world, conv)).state is ACTIVE


async def test_rules_off_by_default_store_no_deadline(world: World) -> None:
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "Hi")
    await world.say(conv, "hello?", "v2")
    assert (await now(world, conv)).idle_due_at is None
    assert await run(world, 86400 * 3) == 0


# -- the agent's silence ---------------------------------------------------------------


async def test_unanswered_visitor_reminds_the_agent_and_an_answer_resets(world: World) -> None:
    await configure(world, agent_reply_reminder=180)
    conv = await chat(world)
    await world.say(conv, "anyone?", "v2")
    world.advance(100)
    await world.say(conv, "hello??", "v3")  # the clock runs from the first unanswered
    assert await run(world, 79) == 0
    assert await run(world, 1) == 1
    assert notices(world, conv) == [("reply_reminder", 3)]
    assert (await now(world, conv)).state is ACTIVE
    # Without re-routing nothing more happens; an answer and a new question start over.
    assert await run(world, 3600) == 0
    await world.agent_says(ALICE, conv.id, "Sorry, here")
    await world.say(conv, "ok", "v4")
    world.advance(100)
    await world.agent_says(ALICE, conv.id, "Done")
    assert await run(world, 3600) == 0
    assert notices(world, conv) == [("reply_reminder", 3)]


async def test_a_chat_taken_without_a_word_reminds_its_agent(world: World) -> None:
    await configure(world, agent_reply_reminder=60)
    await world.agent(BOB, auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")
    assert (await now(world, conv)).idle_due_at is None  # offered: not Bob's yet
    world.advance(30)
    await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    assert await run(world, 59) == 0
    assert await run(world, 1) == 1
    assert notices(world, conv) == [("reply_reminder", 1)]


async def test_reroute_puts_the_chat_back_in_the_queue_for_another_agent(world: World) -> None:
    await configure(world, agent_reply_reminder=60, agent_reply_reroute=True)
    conv = await chat(world)
    await world.agent(BOB, ready=False)
    await world.say(conv, "anyone?", "v2")
    assert await run(world, 60) == 1
    await world.agents.set_availability(c.SetAgentAvailability(agent_id=BOB, ready=True))
    assert (await now(world, conv)).agent_id == ALICE
    assert await run(world, 60) == 1
    moved = await now(world, conv)
    # Back in the queue, then offered to Bob (auto-accept), never to Alice next.
    assert moved.agent_id == BOB
    assert moved.state is ACTIVE
    assert notices(world, conv) == [("reply_reminder", 1), ("rerouted", 2)]
    left = [e for e in world.published(conv.id) if isinstance(e, ParticipantLeft)]
    assert left[-1].participant.id == ALICE


# -- messaging mode --------------------------------------------------------------------


async def test_messaging_thread_leaves_its_agent_after_a_day_without_messages(
    world: World,
) -> None:
    await configure(world, mode="messaging")
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "We'll look into it")
    assert await run(world, 86399) == 0
    assert await run(world, 1) == 1
    thread = await now(world, conv)
    assert thread.state is ON_HOLD  # open, no longer taking Alice's place
    assert notices(world, conv) == [("visit_ended", 1440)]
    # The visitor's next visit: the thread goes to routing again (Alice is ready: hers).
    await world.say(conv, "any news?", "v2")
    assert (await now(world, conv)).state is ACTIVE


# -- restarts and settings -------------------------------------------------------------


async def test_a_new_service_instance_runs_the_stored_deadlines(world: World) -> None:
    await configure(world, visitor_idle_alert=60, visitor_idle_close=60)
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "Hi")
    restarted = world.another_process()
    assert await restarted.services.inactivity.next_due() == (await now(world, conv)).idle_due_at
    restarted.advance(60)
    # Both processes find the alert due: it happens once; then the close, once.
    assert await restarted.services.inactivity.run_due() == 1
    assert await world.services.inactivity.run_due() == 0
    restarted.advance(60)
    assert await world.services.inactivity.run_due() == 1
    assert await restarted.services.inactivity.run_due() == 0
    assert (await now(world, conv)).state is ENDED
    said = system_texts(restarted, conv) + system_texts(world, conv)
    assert said == [
        "Are you still there? This chat will close soon if we don't hear from you.",
        "This chat was closed because of inactivity.",
    ]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"visitor_idle_alert": -1}, "visitor_idle_alert must be 0 (off) to 10080 minutes"),
        ({"agent_reply_reminder": 8 * 86400}, "agent_reply_reminder must be 0 (off)"),
        ({"visitor_idle_close": 60}, "visitor_idle_close needs visitor_idle_alert"),
        ({"agent_reply_reroute": True}, "agent_reply_reroute needs agent_reply_reminder"),
    ],
)
async def test_bad_settings_are_refused_with_a_clear_error(
    world: World, settings: dict[str, object], error: str
) -> None:
    with pytest.raises(InvalidInput, match=error.replace("(", r"\(").replace(")", r"\)")):
        await configure(world, **settings)


async def test_the_clock_runs_what_fell_due_while_down_at_start_up(world: World) -> None:
    await configure(world, visitor_idle_alert=60)
    conv = await chat(world)
    await world.agent_says(ALICE, conv.id, "Hi")
    world.advance(3600)  # the engine was down meanwhile
    clock = InactivityClock(world.services.inactivity, clock=world.clock, longest=0.05)
    clock.start()
    try:
        for _ in range(200):
            if system_texts(world, conv):
                break
            await asyncio.sleep(0.01)
    finally:
        await clock.stop()
    assert len(system_texts(world, conv)) == 1


async def test_a_chat_transferred_to_an_agent_is_not_rerouted_by_the_old_agents_clock(
    world: World,
) -> None:
    # Alice left the visitor unanswered (reminded, re-route due), then handed the chat to
    # Bob, who took it: the re-route was about Alice's silence, not Bob's.
    await configure(world, agent_reply_reminder=60, agent_reply_reroute=True)
    conv = await chat(world)
    await world.agent(BOB, max_chats=2, auto_accept=False)
    await world.say(conv, "anyone?", "v2")
    assert await run(world, 60) == 1  # Alice reminded; the re-route is due in 60 s
    world.advance(55)
    await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.TRANSFER, target=BOB
        )
    )
    await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    assert (await now(world, conv)).agent_id == BOB
    await run(world, 5)
    taken = await now(world, conv)
    assert (taken.state, taken.agent_id) == (ACTIVE, BOB)
    assert notices(world, conv) == [("reply_reminder", 1)]


async def test_a_messaging_thread_nobody_answered_leaves_its_agent_after_a_day(
    world: World,
) -> None:
    # The visitor's first message started it and the agent took it without a word: the
    # day without messages runs from then, as it does after any message.
    await configure(world, mode="messaging")
    conv = await chat(world)
    assert await run(world, 86400) == 1
    assert (await now(world, conv)).state is ON_HOLD
    assert notices(world, conv) == [("visit_ended", 1440)]
