"""Inactivity rules are a queue's own (``business.inactivity``): one queue's rules close,
remind and re-route its chats only, and another queue's chats follow their own rules
(or none) with the same agent, on the fakes, SQLite and PostgreSQL with the fake
clock."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState, QueueName
from tests.business.test_inactivity import notices, now, run, system_texts, world
from tests.harness import ALICE, BOB, World

__all__ = ["world"]  # the fixture

SALES = QueueName("sales")
ALERT = "Are you still there? This chat will close soon if we don't hear from you."
CLOSED = "This chat was closed because of inactivity."


async def _configure(world: World, queue: QueueName, **settings: object) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=queue, **settings)  # type: ignore[arg-type]
    )


async def _chats(world: World) -> tuple[Conversation, Conversation]:
    """One chat with Alice in support and one in sales, each answered by her."""
    await world.agent(ALICE, queues=(DEFAULT_QUEUE, SALES), max_chats=4)
    support = await world.start(await world.visitor(), text="hello support")
    sales = await world.start(await world.visitor(), text="hello sales", queue=SALES)
    assert (support.agent_id, sales.agent_id) == (ALICE, ALICE)
    for conv in (support, sales):
        await world.agent_says(ALICE, conv.id, "How can I help?")
    return support, sales


async def test_one_queues_visitor_rules_leave_another_queues_chats_alone(world: World) -> None:
    await _configure(world, DEFAULT_QUEUE, visitor_idle_alert=60, visitor_idle_close=60)
    support, sales = await _chats(world)

    assert await run(world, 60) == 1
    assert await run(world, 60) == 1
    assert (await now(world, support)).state is ConversationState.ENDED
    assert system_texts(world, support) == [ALERT, CLOSED]

    assert await run(world, 86_400) == 0
    untouched = await now(world, sales)
    assert untouched.state is ConversationState.ACTIVE
    assert untouched.idle_due_at is None
    assert system_texts(world, sales) == []


async def test_each_queue_runs_its_own_deadlines(world: World) -> None:
    await _configure(world, DEFAULT_QUEUE, visitor_idle_alert=60)
    await _configure(world, SALES, visitor_idle_alert=600, visitor_idle_close=60)
    support, sales = await _chats(world)

    assert await run(world, 60) == 1
    assert system_texts(world, support) == [ALERT]
    assert system_texts(world, sales) == []
    assert await run(world, 540) == 1  # sales's alert, at its own 600 s
    assert system_texts(world, sales) == [ALERT]
    assert await run(world, 60) == 1
    assert (await now(world, sales)).state is ConversationState.ENDED
    assert (await now(world, support)).state is ConversationState.ACTIVE  # no close rule


async def test_one_queues_agent_rules_do_not_remind_or_reroute_another_queues_chats(
    world: World,
) -> None:
    await _configure(world, SALES, agent_reply_reminder=60, agent_reply_reroute=True)
    support, sales = await _chats(world)
    await world.agent(BOB, queues=(DEFAULT_QUEUE, SALES), max_chats=4)
    await world.say(support, "anyone?", "v2")
    await world.say(sales, "anyone?", "v2")

    assert await run(world, 60) == 1
    assert await run(world, 60) == 1
    assert notices(world, sales) == [("reply_reminder", 1), ("rerouted", 2)]
    assert (await now(world, sales)).agent_id == BOB
    await run(world, 86_400)  # Bob's own reminders in sales
    assert notices(world, support) == []
    assert (await now(world, support)).agent_id == ALICE
