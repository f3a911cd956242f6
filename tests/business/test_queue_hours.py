"""Opening hours on a queue, on the fakes, SQLite and PostgreSQL: configured through
``QueueSettingsService``, stored and read back, and a closed queue refuses new starts
(``QueueClosed`` with the next opening) while running and waiting chats go on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from business import commands as c
from business.errors import InvalidInput, QueueClosed
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationState
from business.opening_hours import check_opening_hours, parse_closed_dates, parse_weekly
from business.ports import UnitOfWorkFactory
from tests.fakes import FakeClock
from tests.harness import ALICE, SALES, World, make_world

# Thursday 2026-11-26 18:00 in Berlin (UTC+1): after the office closed.
EVENING = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
OFFICE = check_opening_hours(
    "Europe/Berlin",
    parse_weekly("mon-fri 09:00-17:30; sat 10:00-14:00"),
    parse_closed_dates("2026-12-25,2026-12-26"),
)


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    return await make_world(uow=uow_factory, clock=FakeClock(EVENING))


async def set_hours(world: World, **settings: object) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, **settings)  # type: ignore[arg-type]
    )


async def test_opening_hours_are_stored_and_cleared(world: World) -> None:
    await set_hours(world, opening_hours=OFFICE)
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert stored is not None
    assert stored.opening_hours == OFFICE
    other = await world.services.queue_settings.get(DEFAULT_TENANT, SALES)
    assert other is not None
    assert other.opening_hours is None
    await set_hours(world, always_open=True)
    stored = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert stored is not None
    assert stored.opening_hours is None


async def test_hours_and_always_open_together_are_refused(world: World) -> None:
    with pytest.raises(InvalidInput, match="either opening hours or always open"):
        await set_hours(world, opening_hours=OFFICE, always_open=True)


async def test_a_closed_queue_refuses_a_start_with_the_next_opening(world: World) -> None:
    await set_hours(world, opening_hours=OFFICE)
    visitor = await world.visitor()
    with pytest.raises(QueueClosed, match=r"closed now; it opens at 2026-11-27T09:00\+01:00") as e:
        await world.start(visitor, text="anyone there?")
    assert e.value.opens_at == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    # Other queues keep taking chats; the same start is taken once the queue opens.
    assert (await world.start(visitor, queue=SALES)).state is ConversationState.QUEUED
    world.advance(15 * 3600)  # Friday 09:00 Berlin
    assert (await world.start(visitor)).state is ConversationState.QUEUED


async def test_chats_that_run_or_wait_at_closing_time_go_on(world: World) -> None:
    await world.agent(ALICE, max_chats=1)
    serving = await world.start(await world.visitor())
    waiting_visitor = await world.visitor()
    waiting = await world.start(waiting_visitor)
    assert serving.state is ConversationState.ACTIVE
    assert waiting.state is ConversationState.QUEUED
    await set_hours(world, opening_hours=OFFICE)
    # The waiting visitor's start again returns the open chat, not a refusal.
    again = await world.start(waiting_visitor)
    assert again.id == waiting.id
    assert again.state is ConversationState.QUEUED
    world.advance(60)
    posted = await world.visitor_says(serving.visitor_id, serving.id, "still there?")
    assert posted.text == "still there?"
