"""PostgreSQL's fast lane for lone messages (``data.pg_lane``): it takes a lone message's
one statement, and whatever goes wrong on it (its connection killed, a repeat, another
write at the same time, a long idle) the message is stored exactly once, the usual way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from business.model import ConversationId, VisitorId
from chat_engine.local_ports import free_port
from data.database import Database
from data.pg_lane import FastLane
from tests.data.test_message_path import post, statements, stored_messages, world_on
from tests.harness import World

pytestmark = pytest.mark.postgres


def lane_of(database: Database) -> FastLane:
    lane = database.lane
    assert lane is not None
    return lane


async def warm_world_on(database: Database) -> tuple[World, VisitorId, ConversationId]:
    """A conversation whose next message is a lone one the caches answer (the first
    after the start is not)."""
    world, visitor, conv = await world_on(database)
    await world.messaging.send_visitor_message(post(visitor, conv, "warm"))
    return world, visitor, conv


def lane_pid(lane: FastLane) -> int:
    """The server process of the connection the lane last wrote on."""
    driver = lane._driver
    assert driver is not None
    return int(driver.get_server_pid())


async def test_a_lone_message_takes_the_lane_in_one_statement(
    postgres_database: Database,
) -> None:
    world, visitor, conv = await warm_world_on(postgres_database)
    lane = lane_of(postgres_database)
    before = lane.writes
    with statements() as seen:
        ack = await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    assert lane.writes == before + 1
    assert seen == {"WITH saved AS": 1}  # still announced to the listeners
    stored = await stored_messages(postgres_database, conv)
    assert [m.client_msg_id for m in stored] == ["first", "warm", "m-1"]
    assert stored[-1] == ack


async def test_a_killed_lane_loses_nothing_and_the_next_message_takes_a_new_one(
    postgres_database: Database,
) -> None:
    world, visitor, conv = await warm_world_on(postgres_database)
    lane = lane_of(postgres_database)
    await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    killed = lane_pid(lane)
    async with postgres_database.begin() as connection:
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed})
    writes = lane.writes
    await world.messaging.send_visitor_message(post(visitor, conv, "m-2"))  # the usual way
    assert lane.writes == writes
    await world.messaging.send_visitor_message(post(visitor, conv, "m-3"))  # a new lane
    assert lane.writes == writes + 1
    assert lane_pid(lane) != killed
    stored = await stored_messages(postgres_database, conv)
    assert [m.client_msg_id for m in stored] == ["first", "warm", "m-1", "m-2", "m-3"]
    async with postgres_database.unit_of_work() as uow:
        events = await uow.events.list_after(conv, 0, 1000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_a_repeat_refused_on_the_lane_is_answered_with_what_was_stored(
    postgres_database: Database,
) -> None:
    world, visitor, conv = await warm_world_on(postgres_database)
    first = await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    fallbacks = lane_of(postgres_database).fallbacks
    # The cache is told nothing: the optimistic write of the repeat breaks the unique
    # client_msg_id on the lane, then the usual way, then the careful retry reads it.
    assert await world.messaging.send_visitor_message(post(visitor, conv, "m-1")) == first
    assert lane_of(postgres_database).fallbacks == fallbacks + 1
    stored = await stored_messages(postgres_database, conv)
    assert [m.client_msg_id for m in stored] == ["first", "warm", "m-1"]


_METADATA = MetaData()
_NOTES = Table(
    "lane_notes", _METADATA, Column("id", Integer, primary_key=True), Column("v", String)
)


async def notes_table(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_METADATA.create_all)


async def notes(database: Database) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(select(_NOTES.c.id, _NOTES.c.v).order_by(_NOTES.c.id))
        return [tuple(row) for row in rows]


async def test_a_write_while_the_lane_is_busy_is_left_to_the_usual_way(
    postgres_database: Database,
) -> None:
    await notes_table(postgres_database)
    lane = lane_of(postgres_database)
    stmt = insert(_NOTES)
    first, second = await asyncio.gather(
        lane.write(stmt, {"id": 1, "v": "a"}), lane.write(stmt, {"id": 2, "v": "b"})
    )
    assert (first, second) == (1, None)
    assert await notes(postgres_database) == [(1, "a")]
    assert await lane.write(stmt, {"id": 2, "v": "b"}) == 1  # free again


async def test_a_statement_refused_on_the_lane_keeps_its_connection(
    postgres_database: Database,
) -> None:
    await notes_table(postgres_database)
    lane = lane_of(postgres_database)
    stmt = insert(_NOTES)
    assert await lane.write(stmt, {"id": 1, "v": "a"}) == 1
    pid = lane_pid(lane)
    assert await lane.write(stmt, {"id": 1, "v": "again"}) is None  # a taken key
    assert lane_pid(lane) == pid
    assert await lane.write(stmt, {"id": 2, "v": "b"}) == 1
    assert await notes(postgres_database) == [(1, "a"), (2, "b")]


async def test_an_idle_lane_is_pinged_and_replaced_when_it_does_not_answer(
    postgres_database: Database,
) -> None:
    await notes_table(postgres_database)
    lane = FastLane(postgres_database.engine, idle=0.0, ping_timeout=5.0)  # pinged before every use
    stmt = insert(_NOTES)
    try:
        assert await lane.write(stmt, {"id": 1, "v": "a"}) == 1
        pid = lane_pid(lane)
        assert await lane.write(stmt, {"id": 2, "v": "b"}) == 1
        assert lane_pid(lane) == pid  # it answered: kept
        async with postgres_database.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert await lane.write(stmt, {"id": 3, "v": "c"}) == 1  # no fallback
        assert lane.fallbacks == 0
        assert lane_pid(lane) != pid
    finally:
        await lane.close()
    assert await lane.write(stmt, {"id": 4, "v": "d"}) is None  # closed for good
    assert await notes(postgres_database) == [(1, "a"), (2, "b"), (3, "c")]


async def test_a_lane_that_cannot_connect_says_so_once(postgres_database: Database) -> None:
    # The usual way would meet the same refusal: the lane raises it instead of having
    # the message wait for two connection attempts.
    url = postgres_database.url.set(port=free_port()).render_as_string(hide_password=False)
    unreachable = Database.from_url(url, connect_timeout=2.0)
    lane = lane_of(unreachable)
    try:
        with pytest.raises((SQLAlchemyError, OSError)):
            await lane.write(insert(_NOTES), {"id": 1, "v": "a"})
    finally:
        await unreachable.dispose()


async def test_an_answer_lost_after_the_commit_is_acked_with_what_was_stored_once(
    postgres_database: Database,
) -> None:
    # The lane's connection died after its COMMIT, before the answer: the usual way
    # finds the compare-and-set taken (Conflict), the careful retry finds the message.
    world, visitor, conv = await warm_world_on(postgres_database)
    lane = lane_of(postgres_database)
    original = lane.write
    lost = 0

    async def committed_then_lost(stmt: Any, params: dict[str, Any]) -> int | None:
        nonlocal lost
        if await original(stmt, params) is not None:
            lost += 1
        return None

    lane.write = committed_then_lost  # type: ignore[method-assign]
    try:
        ack = await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    finally:
        lane.write = original  # type: ignore[method-assign]
    assert lost == 1
    stored = await stored_messages(postgres_database, conv)
    assert [m.client_msg_id for m in stored] == ["first", "warm", "m-1"]
    assert stored[-1] == ack
