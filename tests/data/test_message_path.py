"""The message path on the real databases: a batch is stored without reading first, a
repeat in it is answered with what was stored, and a message costs a fixed handful of
statements (on SQLite, in one hand-off to the writer thread)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from business import commands as c
from business.errors import NotFound
from business.events import MessagePosted
from business.model import AgentId, ConversationId, EventId, VisitorContext, VisitorId
from data.database import Database
from tests.conftest import open_database
from tests.harness import World, make_world


async def world_on(database: Database) -> tuple[World, VisitorId, ConversationId]:
    world = await make_world(uow=database.unit_of_work)
    visitor = await world.visitor()
    conv = await world.start(visitor, "hello")
    return world, visitor, conv.id


def post(visitor: VisitorId, conv: ConversationId, client_msg_id: str) -> c.SendVisitorMessage:
    return c.SendVisitorMessage(
        visitor_id=visitor,
        conversation_id=conv,
        client_msg_id=client_msg_id,
        text=f"text of {client_msg_id}",
    )


async def stored_messages(database: Database, conv: ConversationId) -> list[MessagePosted]:
    async with database.unit_of_work() as uow:
        events = await uow.events.list_after(conv, 0, 1000)
    return [e for e in events if isinstance(e, MessagePosted)]


@contextmanager
def statements() -> Iterator[Counter[str]]:
    """The statements every engine of the process runs meanwhile, by their first words."""
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def on_statement(*args: Any) -> None:
        words = " ".join(args[2].split()[:3])
        with lock:
            seen[words] += 1

    event.listen(Engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", on_statement)


async def test_repeats_in_a_batch_are_answered_with_what_was_stored(database: Database) -> None:
    world, visitor, conv = await world_on(database)
    first = await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    # One batch: new messages, the stored one again (twice), and a new one twice.
    ids = ["m-2", "m-1", "m-3", "m-1", "m-4", "m-4"]
    acks = await asyncio.gather(
        *(world.messaging.send_visitor_message(post(visitor, conv, i)) for i in ids)
    )
    assert acks[1] == first
    assert acks[3] == first
    assert acks[4] == acks[5]
    stored = await stored_messages(database, conv)
    assert sorted(m.client_msg_id or "" for m in stored) == ["first", "m-1", "m-2", "m-3", "m-4"]
    by_id = {m.client_msg_id: m for m in stored}
    for ack in acks:
        assert by_id[ack.client_msg_id] == ack
    async with database.unit_of_work() as uow:
        events = await uow.events.list_after(conv, 0, 1000)
        conversation = await uow.conversations.get(conv, for_update=True)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert conversation is not None
    assert conversation.last_seq == len(events)


async def test_a_message_costs_an_update_and_an_insert_without_reading(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    await world.messaging.send_visitor_message(post(visitor, conv, "warm"))
    with statements() as seen:
        await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    if database.dialect == "sqlite":
        expected = Counter(
            {
                "BEGIN IMMEDIATE": 1,
                "UPDATE conversations SET": 1,
                "INSERT INTO conversation_events": 1,
            }
        )
    else:
        # Both in one statement on an autocommit connection: one trip, no BEGIN or COMMIT.
        expected = Counter({"WITH saved AS": 1})
    assert seen == expected


async def test_a_retry_after_the_chat_ended_is_answered_not_refused(database: Database) -> None:
    world, visitor, conv = await world_on(database)
    first = await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=visitor, conversation_id=conv)
    )
    assert await world.messaging.send_visitor_message(post(visitor, conv, "m-1")) == first


async def second_process(database: Database) -> Database:
    """Another ``Database`` on the same data, as a second engine process has: its own
    caches, connections and (on SQLite) writer gate and writer thread."""
    url = database.url.render_as_string(hide_password=False)
    if database.dialect == "sqlite":
        return Database.from_url(url)
    async with database.begin() as connection:
        schema = (await connection.exec_driver_sql("SELECT current_schema()")).scalar_one()
    return Database.from_url(url, connect_args={"server_settings": {"search_path": schema}})


async def test_two_processes_writing_one_conversation_store_every_message_once(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    other_db = await second_process(database)
    try:
        other = await make_world(uow=other_db.unit_of_work)
        ids = [f"m-{n}" for n in range(30)]
        # Each message sent through both processes (a retry that went elsewhere), all
        # at once: the caches are stale half of the time.
        acks = await asyncio.gather(
            *(
                w.messaging.send_visitor_message(post(visitor, conv, i))
                for i in ids
                for w in (world, other)
            )
        )
    finally:
        await other_db.dispose()
    stored = await stored_messages(database, conv)
    assert sorted(m.client_msg_id or "" for m in stored) == sorted(["first", *ids])
    by_id = {m.client_msg_id: m for m in stored}
    for ack in acks:
        assert by_id[ack.client_msg_id] == ack
    async with database.unit_of_work() as uow:
        events = await uow.events.list_after(conv, 0, 1000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_the_histories_of_many_offers_are_read_at_once(database: Database) -> None:
    world, visitor, conv = await world_on(database)
    other = await world.start(await world.visitor(), "hi there")
    for n in range(3):
        await world.messaging.send_visitor_message(post(visitor, conv, f"m-{n}"))
    requests = [(conv, 3), (other.id, 5), (conv, 99), (ConversationId("nope"), 2)]
    with statements() as seen:
        outcomes = await world.history.histories(requests)
    # One read of events for them all (and one of the conversation no cache holds).
    events_read = sum(n for words, n in seen.items() if "conversation_events." in words)
    assert events_read == 1
    for (cid, before), outcome in zip(requests[:3], outcomes[:3], strict=True):
        assert outcome == await world.history.history(cid, before_pos=before)
    assert [e.pos for e in outcomes[0]] == [1, 2]  # type: ignore[union-attr]
    assert isinstance(outcomes[3], NotFound)


async def test_a_change_decided_on_an_older_copy_keeps_what_others_wrote_meanwhile(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    for n in range(3):
        await world.messaging.send_visitor_message(post(visitor, conv, f"m-{n}"))
    uow = database.unit_of_work()
    async with uow:
        # A message decided on the cached copy, as the message path does ...
        cached = (await uow.conversations.get_many([conv], for_update=True, optimistic=True))[conv]
        change = cached.post(
            id=EventId("e-late"),
            sender=cached.visitor,
            text="late",
            client_msg_id="m-late",
            now=cached.created_at,
        )
        # ... while the agent's delivery cursor moves (on SQLite it waits its turn).
        cursor = asyncio.create_task(
            world.delivery.mark_delivered_to_agents({conv: cached.last_seq})
        )
        await asyncio.sleep(0.2)
        await uow.conversations.save(change.conversation, previous=cached)
        for event in change.events:
            await uow.events.add(event)
        await uow.commit()
    await cursor
    async with database.unit_of_work() as check:
        stored = await check.conversations.get(conv, for_update=True)
    assert stored is not None
    assert stored.last_seq == cached.last_seq + 1
    assert stored.agent_delivered_pos == cached.last_seq


async def test_a_batch_costs_one_update_and_one_insert_however_many_chats_it_spans(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    chats = [(visitor, conv)]
    for _ in range(3):
        other = await world.visitor()
        chats.append((other, (await world.start(other, "hello")).id))
    with statements() as seen:
        acks = await asyncio.gather(
            *(
                world.messaging.send_visitor_message(post(v, cid, f"m-{n}"))
                for n in range(3)
                for v, cid in chats
            )
        )
    # The first message goes alone (nothing to wait for), the other eleven together:
    # one UPDATE (one row per conversation) and one INSERT for them all.
    assert seen["UPDATE conversations SET"] <= 2
    assert seen["INSERT INTO conversation_events"] <= 2
    for _, cid in chats:
        async with database.unit_of_work() as uow:
            events = await uow.events.list_after(cid, 0, 100)
            stored = await uow.conversations.get(cid, for_update=True)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert stored is not None
        assert stored.last_seq == len(events)
        assert {a.seq for a in acks if a.conversation_id == cid} <= {e.seq for e in events}


async def test_a_message_refused_on_a_stale_copy_is_decided_again_on_the_stored_one(
    tmp_path: Path,
) -> None:
    # PostgreSQL only: several engine processes share a database there (on SQLite one
    # process owns the file, and its cache is exact).
    async with open_database("postgres", tmp_path) as database:
        await _refused_on_a_stale_copy(database)


async def _refused_on_a_stale_copy(database: Database) -> None:
    world, _, conv = await world_on(database)  # queued: no agent yet
    other_db = await second_process(database)
    try:
        other = await make_world(uow=other_db.unit_of_work)
        # The other process caches the conversation while it is queued ...
        assert (await other.conversations.get_conversation(conv)).agent_id is None
        # ... and this one assigns it.
        agent = await world.agent(AgentId("alice@example.com"))
        assert (await world.conversations.get_conversation(conv)).agent_id == agent
        # The agent's message reaches the other process: stored, not refused.
        posted = await other.agent_says(agent, conv, "hello", "s-1")
    finally:
        await other_db.dispose()
    stored = await stored_messages(database, conv)
    assert stored[-1] == posted


async def test_the_cache_never_serves_a_change_undone_by_a_cursor_write_beside_it(
    tmp_path: Path,
) -> None:
    # PostgreSQL: units of work of one process commit side by side there.
    async with open_database("postgres", tmp_path) as database:
        world, _, conv = await world_on(database)
        uow = database.unit_of_work()
        async with uow:
            locked = await uow.conversations.get(conv, for_update=True)  # the row lock
            assert locked is not None
            change = locked.with_context(VisitorContext(page_url="https://new.example/"))
            await uow.conversations.save(change.conversation, previous=locked)
            # A cursor write decided on the cached copy (the old context) waits for the
            # lock, and commits after this one.
            cursor = asyncio.create_task(
                world.delivery.mark_delivered_to_agents({conv: locked.last_seq})
            )
            await asyncio.sleep(0.3)
            await uow.commit()
        await cursor
        shown = await world.conversations.get_conversation(conv)  # cache or database
        assert shown.context.page_url == "https://new.example/"
        assert shown.agent_delivered_pos == locked.last_seq


async def test_a_unit_of_work_left_without_commit_can_be_entered_again(
    database: Database,
) -> None:
    _, _, conv = await world_on(database)
    uow = database.unit_of_work()

    async def save_and_leave() -> None:
        async with uow:
            found = await uow.conversations.get(conv, for_update=True)
            assert found is not None
            await uow.conversations.save(found, previous=found)
            raise ValueError("leave the block")

    with pytest.raises(ValueError, match="leave"):
        await save_and_leave()
    async with uow:
        found = await uow.conversations.get(conv, for_update=True)
        assert found is not None
        await uow.conversations.save(found, previous=found)
        await uow.commit()
