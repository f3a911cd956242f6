"""Messaging mode (``business.threads``): a queue's mode, threads that the visitor cannot
end, ``new_thread``, the ``identity_initiated_thread`` flag, ``!lock`` / ``!unlock`` and
the visitor's thread list with unread counts.

The flows run on the fakes, SQLite and PostgreSQL (the SQL runs also prove that migration
0024's columns store and read back ``mode`` and ``locked``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput, InvalidTransition
from business.events import MessagePosted, StateChanged
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationState,
    QueueMode,
    VisitorId,
    new_id,
)
from business.threads import (
    IDENTITY_INITIATED,
    MAX_OPEN_THREADS,
    NOT_ALLOWED_IN_MESSAGING,
    THREAD_LOCKED,
    TOO_MANY_THREADS,
    ThreadRefused,
)
from business.webhook_payloads import webhook_events
from tests.conftest import BACKENDS, open_database
from tests.harness import (
    ALICE,
    BOB,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """Alice and Bob serve ``support`` (messaging) and ``sales`` (live)."""

    async def prepare(world: World) -> World:
        await world.agent(ALICE, queues=(DEFAULT_QUEUE, SALES), max_chats=20)
        await world.agent(BOB, queues=(DEFAULT_QUEUE,), ready=False)
        await world.services.queue_settings.configure(
            c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
        )
        return world

    if request.param == "fake":
        fake = await prepare(await make_world())
        yield fake
        assert_store_consistent(fake.fakes)
        assert_published_once(fake)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await prepare(await make_world(uow=db.unit_of_work))


async def start(
    world: World,
    visitor: VisitorId,
    *,
    new_thread: bool = False,
    queue: str | None = None,
    client_msg_id: str | None = None,
) -> Conversation:
    world.advance(1)  # "newest" is by start time
    return await world.conversations.start_conversation(
        c.StartConversation(
            visitor_id=visitor,
            queue=None if queue is None else SALES,
            message=c.FirstMessage(client_msg_id=client_msg_id or new_id(), text="hello"),
            new_thread=new_thread,
        )
    )


async def test_a_retried_new_thread_start_opens_one_thread(world: World) -> None:
    visitor = await world.visitor()
    await start(world, visitor)
    first = await start(world, visitor, new_thread=True, client_msg_id="retry-me")
    again = await start(world, visitor, new_thread=True, client_msg_id="retry-me")
    assert again.id == first.id
    async with world.uow() as uow:
        threads = await uow.conversations.open_for_visitors([visitor])
    assert len(threads[visitor]) == 2
    hellos = [e for e in world.published(first.id) if isinstance(e, MessagePosted)]
    assert len(hellos) == 1


async def lock(
    world: World, conv: Conversation, locked: bool = True, agent: AgentId = ALICE
) -> Conversation:
    return await world.services.threads.set_lock(
        c.LockThread(agent_id=agent, conversation_id=conv.id, locked=locked)
    )


async def test_mode_is_a_queue_setting_with_a_clear_error(world: World) -> None:
    queue = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    assert queue.mode is QueueMode.MESSAGING
    other = await world.services.queue_settings.get(DEFAULT_TENANT, SALES)
    assert other is not None
    assert other.mode is QueueMode.LIVE  # the default
    with pytest.raises(InvalidInput, match="live, messaging"):
        await world.services.queue_settings.configure(
            c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=SALES, mode="async")
        )
    session = await world.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    assert session.messaging_queues == (DEFAULT_QUEUE,)


async def test_start_returns_the_open_thread_unless_a_new_one_is_asked(world: World) -> None:
    visitor = await world.visitor()
    first = await start(world, visitor)
    assert first.context.custom[IDENTITY_INITIATED] == "true"
    assert (await start(world, visitor)).id == first.id
    second = await start(world, visitor, new_thread=True)
    assert second.id != first.id
    assert second.context.custom[IDENTITY_INITIATED] == "true"
    # The newest open thread is the one a plain start returns now.
    assert (await start(world, visitor)).id == second.id
    # Live chat: no flag, and no new_thread.
    live = await start(world, visitor, queue="sales")
    assert IDENTITY_INITIATED not in live.context.custom
    with pytest.raises(InvalidInput, match="not a messaging queue"):
        await start(world, visitor, queue="sales", new_thread=True)
    await live_end(world, live)


async def live_end(world: World, conv: Conversation) -> None:
    ended = await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    assert ended.state is ConversationState.ENDED  # live chat: the visitor may end it


async def test_open_threads_are_bounded(world: World) -> None:
    visitor = await world.visitor()
    for _ in range(MAX_OPEN_THREADS):
        await start(world, visitor, new_thread=True)
    with pytest.raises(ThreadRefused) as refused:
        await start(world, visitor, new_thread=True)
    assert refused.value.code == TOO_MANY_THREADS


async def test_only_an_agent_closes_a_thread(world: World) -> None:
    visitor = await world.visitor()
    thread = await start(world, visitor)
    with pytest.raises(ThreadRefused) as refused:
        await world.conversations.end_by_visitor(
            c.EndConversationByVisitor(visitor_id=visitor, conversation_id=thread.id)
        )
    assert refused.value.code == NOT_ALLOWED_IN_MESSAGING
    assert (await world.conversations.get_conversation(thread.id)).is_open
    ended = await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=thread.id)
    )
    assert ended.state is ConversationState.ENDED


async def test_a_locked_thread_is_read_only_for_the_visitor(world: World) -> None:
    visitor = await world.visitor()
    thread = await start(world, visitor)
    assert thread.agent_id == ALICE
    locked = await lock(world, thread)
    assert locked.locked
    told = [e for e in world.published(thread.id) if isinstance(e, StateChanged)][-1]
    assert told.locked is True
    assert told.seq == locked.last_seq
    with pytest.raises(ThreadRefused) as refused:
        await world.visitor_says(visitor, thread.id, "let me in")
    assert refused.value.code == THREAD_LOCKED
    # The agent still writes; a plain start does not hand the visitor a thread they
    # cannot write to: it opens another.
    await world.agent_says(ALICE, thread.id, "closing this topic")
    other = await start(world, visitor)
    assert other.id != thread.id
    with pytest.raises(InvalidTransition, match="locked already"):
        await lock(world, thread)
    with pytest.raises(Forbidden, match="not the agent"):
        await lock(world, thread, locked=False, agent=BOB)
    unlocked = await lock(world, thread, locked=False)
    assert not unlocked.locked
    await world.visitor_says(visitor, thread.id, "thanks")
    stored = await world.conversations.get_conversation(thread.id)
    assert not stored.locked


async def test_only_messaging_threads_lock(world: World) -> None:
    live = await start(world, await world.visitor(), queue="sales")
    with pytest.raises(InvalidTransition, match="messaging queue"):
        await lock(world, live)


async def test_thread_list_counts_unread_from_the_read_marker(world: World) -> None:
    visitor = await world.visitor()
    first = await start(world, visitor)
    second = await start(world, visitor, new_thread=True)
    await world.agent_says(ALICE, first.id, "one")
    await world.agent_says(ALICE, first.id, "two")
    await lock(world, second)

    threads = {t.id: t for t in await world.services.threads.threads(visitor)}

    assert set(threads) == {first.id, second.id}
    assert threads[first.id].unread == 2
    assert threads[first.id].preview == "two"
    assert not threads[first.id].locked
    assert threads[second.id].locked
    assert threads[second.id].unread == 0
    read_to = (await world.conversations.get_conversation(first.id)).last_seq
    await world.messaging.mark_visitor_read(
        c.MarkVisitorRead(visitor_id=visitor, conversation_id=first.id, seq=read_to)
    )
    after = {t.id: t for t in await world.services.threads.threads(visitor)}
    assert after[first.id].unread == 0


async def test_an_agent_opens_a_thread_that_waits_parked_for_the_visitor(world: World) -> None:
    visitor = await world.visitor()
    first = await start(world, visitor)
    world.advance(1)

    opened = await world.services.outbound_threads.open_thread(
        c.OpenThread(agent_id=ALICE, conversation_id=first.id, text="Your parcel is here")
    )

    assert opened.id != first.id
    assert opened.visitor_id == visitor
    assert opened.state is ConversationState.ON_HOLD  # takes none of Alice's places
    assert opened.agent_id == ALICE
    assert opened.context.custom[IDENTITY_INITIATED] == "false"
    listed = {t.id: t for t in await world.services.threads.threads(visitor)}
    assert listed[opened.id].unread == 1
    assert listed[opened.id].preview == "Your parcel is here"
    # The visitor's answer brings it back to Alice, who is ready and has room.
    await world.visitor_says(visitor, opened.id, "Thanks!")
    back = await world.conversations.get_conversation(opened.id)
    assert back.state is ConversationState.ACTIVE
    assert back.agent_id == ALICE


async def test_new_threads_only_in_messaging_queues_and_by_the_chats_agent(world: World) -> None:
    visitor = await world.visitor()
    live = await start(world, visitor, queue="sales")
    with pytest.raises(InvalidTransition, match="messaging queues only"):
        await world.services.outbound_threads.open_thread(
            c.OpenThread(agent_id=ALICE, conversation_id=live.id, text="Hello")
        )
    thread = await start(world, visitor)
    with pytest.raises(Forbidden):
        await world.services.outbound_threads.open_thread(
            c.OpenThread(agent_id=BOB, conversation_id=thread.id, text="Hello")
        )
    for _ in range(MAX_OPEN_THREADS - 1):
        await start(world, visitor, new_thread=True)
    with pytest.raises(ThreadRefused):
        await world.services.outbound_threads.open_thread(
            c.OpenThread(agent_id=ALICE, conversation_id=thread.id, text="One more")
        )


async def test_webhooks_say_who_started_a_thread(world: World) -> None:
    thread = await start(world, await world.visitor())
    made = webhook_events(thread, world.published(thread.id), attachment_url=str)
    data = [json.loads(event.body)["data"] for event in made]
    assert data
    assert all(d["identity_initiated_thread"] is True for d in data)
    live = await start(world, await world.visitor(), queue="sales")
    assert all(
        "identity_initiated_thread" not in json.loads(event.body)["data"]
        for event in webhook_events(live, world.published(live.id), attachment_url=str)
    )
