"""Inactivity deadlines on the real databases: a message that sets one costs no extra
statement (it rides in the conversation's UPDATE), the soonest come first through the
index, and they are what a new process runs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data.database import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.data.test_message_path import post, statements
from tests.fakes import FakeClock
from tests.harness import ALICE, World, make_world


async def active_world(database: Database, clock: FakeClock | None = None) -> World:
    world = await make_world(uow=database.unit_of_work, clock=clock)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            visitor_idle_alert=120,
            visitor_idle_close=60,
            agent_reply_reminder=300,
        )
    )
    await world.agent(ALICE)
    return world


async def test_a_message_setting_a_deadline_costs_no_extra_statement(database: Database) -> None:
    world = await active_world(database)
    visitor = await world.visitor()
    conv = await world.start(visitor, "hello")
    await world.messaging.send_visitor_message(post(visitor, conv.id, "warm"))
    await world.agent_says(ALICE, conv.id, "Hi")  # the visitor's turn: their clock runs
    with statements() as seen:
        await world.messaging.send_visitor_message(post(visitor, conv.id, "m-1"))
    if database.dialect == "sqlite":
        assert seen == {
            "BEGIN IMMEDIATE": 1,
            "UPDATE conversations SET": 1,
            "INSERT INTO conversation_events": 1,
        }
    else:
        assert seen == {"WITH saved AS": 1}
    async with database.unit_of_work() as uow:
        stored = await uow.conversations.get(conv.id)
    assert stored is not None
    assert stored.idle_step == "agent_reminder"
    assert stored.idle_due_at == world.clock.now() + timedelta(seconds=300)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_due_deadlines_come_soonest_first_and_a_restarted_engine_runs_them(
    backend: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    async with fresh_database_url(backend, tmp_path) as url:
        database = Database.from_url(url)
        try:
            await database.migrate()
            world = await active_world(database, clock)
            convs = []
            for text in ("one", "two"):
                convs.append(await world.start(await world.visitor(), text))
            await world.agent_says(ALICE, convs[1].id, "first answer")
            world.advance(10)
            await world.agent_says(ALICE, convs[0].id, "second answer")
            async with database.unit_of_work() as uow:
                due = await uow.conversations.list_idle_due(None, 10)
                assert [d.id for d in due] == [convs[1].id, convs[0].id]
                assert await uow.conversations.list_idle_due(clock.now(), 10) == []
        finally:
            await database.dispose()  # the engine stops: no timer survives it

        # Started again on the same database: what fell due meanwhile runs, once each.
        again = Database.from_url(url)
        try:
            later = await make_world(uow=again.unit_of_work, clock=clock)
            clock.advance(115)
            assert await later.services.inactivity.run_due() == 1
            clock.advance(10)
            assert await later.services.inactivity.run_due() == 1
            assert await later.services.inactivity.run_due() == 0
            async with again.unit_of_work() as uow:
                due = await uow.conversations.list_idle_due(None, 10)
            assert [(d.id, d.idle_step) for d in due] == [
                (convs[1].id, "visitor_close"),
                (convs[0].id, "visitor_close"),
            ]
        finally:
            await again.dispose()
