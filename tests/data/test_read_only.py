"""Read-only units of work: they neither wait for a writer nor hold one up, and refuse
to write."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.model import ConversationId, EventId
from data.database import Database
from tests.data.test_message_path import world_on


async def test_a_read_does_not_wait_for_a_writer_in_the_middle_of_its_transaction(
    database: Database,
) -> None:
    world, _, conv = await world_on(database)
    writing = database.unit_of_work()
    async with writing:
        # The writer holds the conversation for a change (on SQLite: the writer slot,
        # BEGIN IMMEDIATE; on PostgreSQL: the row lock) and has written, not committed.
        locked = await writing.conversations.get(conv, for_update=True)
        assert locked is not None
        await writing.events.list_after(conv, 0, 1)
        async with asyncio.timeout(5):
            history = await world.history.history(conv)
            shown = await world.conversations.get_conversation(conv)
    assert [e.pos for e in history] == list(range(1, shown.last_pos + 1))


async def test_a_read_only_unit_of_work_refuses_to_write_or_lock(database: Database) -> None:
    _, _, conv = await world_on(database)
    uow = database.unit_of_work()
    uow.read_only()
    async with uow:
        found = await uow.conversations.get(conv)
        assert found is not None
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.conversations.get(conv, for_update=True)
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.conversations.save(found, previous=found)
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.commit()
    # Nothing was written, and the conversation is as it was.
    async with database.unit_of_work() as check:
        assert await check.conversations.get(ConversationId(conv)) == found


async def test_reads_go_on_while_messages_are_stored(database: Database) -> None:
    world, visitor, conv = await world_on(database)
    sends = [
        world.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=visitor, conversation_id=conv, client_msg_id=f"m-{n}", text="hi"
            )
        )
        for n in range(50)
    ]
    reads = [world.history.history(conv) for _ in range(50)]
    _, histories = await asyncio.gather(asyncio.gather(*sends), asyncio.gather(*reads))
    for history in histories:
        seqs = [e.pos for e in history]
        # Every read sees a committed prefix: no gaps, whatever was stored meanwhile.
        assert seqs == list(range(1, len(seqs) + 1))


async def test_in_memory_sqlite_reads_wait_for_the_writer_instead_of_ending_its_transaction() -> (
    None
):
    # In memory, every connection is the same one: a read beside the writer's open
    # transaction would end it, and the writer would then "commit" nothing.
    database = Database.from_url("sqlite+aiosqlite:///:memory:")
    await database.migrate()
    try:
        world, _, conv = await world_on(database)
        writing = database.unit_of_work()
        async with writing:
            locked = await writing.conversations.get(conv, for_update=True)
            assert locked is not None
            await writing.events.list_after(conv, 0, 1)  # the transaction is open
            change = locked.post(
                id=EventId("e-x"),
                sender=locked.visitor,
                text="x",
                client_msg_id="m-x",
                now=locked.created_at,
            )
            await writing.conversations.save(change.conversation, previous=locked)
            for event in change.events:
                await writing.events.add(event)
            reading = asyncio.create_task(world.history.history(conv))
            await asyncio.sleep(0.1)
            assert not reading.done()  # it waits its turn
            await writing.commit()
        history = await reading
        assert [e.pos for e in history] == list(range(1, change.conversation.last_pos + 1))
        database.caches.clear()
        async with database.unit_of_work() as check:
            stored = await check.conversations.get(conv)
        assert stored is not None
        assert stored.last_seq == change.conversation.last_seq
    finally:
        await database.dispose()
