"""Migration 0017 (opening hours) on SQLite and PostgreSQL: queues from before it are
always open, hours round-trip through the column as the business document, and it
downgrades and upgrades cleanly."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from business import commands as c
from business.model import QueueName, TenantId
from business.opening_hours import check_opening_hours, parse_closed_dates, parse_weekly
from business.publishing import EventPublisher
from business.queue_settings import QueueSettingsService
from business.transactions import Transactions
from data import Database
from data.database import alembic_config
from tests.data.test_bot_migration import _columns, _migrate, _seed
from tests.data.test_migrations import _diffs

ACME, SUPPORT = TenantId("acme"), QueueName("support")


def _before_hours() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_revision("0017")
    assert revision is not None
    assert revision.down_revision == "0016"
    return "0016"


async def test_queues_from_before_are_always_open_and_take_hours(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate(_before_hours()))
        assert "opening_hours" not in await connection.run_sync(_columns("queues"))
        await _seed(connection)
        await connection.run_sync(_migrate("head"))
    async with database.unit_of_work() as uow:
        queue = await uow.queues.get(ACME, SUPPORT)
    assert queue is not None
    assert queue.opening_hours is None

    hours = check_opening_hours(
        "America/New_York",
        parse_weekly("mon-fri 08:00-12:00 13:00-24:00"),
        parse_closed_dates("2026-07-04"),
    )
    service = QueueSettingsService(
        transactions=Transactions(database.unit_of_work, EventPublisher())
    )
    await service.configure(c.ConfigureQueue(tenant_id=ACME, queue=SUPPORT, opening_hours=hours))
    async with database.unit_of_work() as uow:
        stored = await uow.queues.get(ACME, SUPPORT)
    assert stored is not None
    assert stored.opening_hours == hours


async def test_it_downgrades_and_upgrades_again(database: Database) -> None:
    async with database.begin() as connection:
        await connection.run_sync(_migrate("head"))
        await connection.run_sync(_migrate(_before_hours()))
        assert "opening_hours" not in await connection.run_sync(_columns("queues"))
        await connection.run_sync(_migrate("head"))
        assert "opening_hours" in await connection.run_sync(_columns("queues"))
        assert await connection.run_sync(_diffs) == []
