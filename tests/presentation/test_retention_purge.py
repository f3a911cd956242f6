"""Retention of conversations and visitors over SQLite and PostgreSQL, as the engine's
purger sees it some days later: an ended conversation past the retention goes with its
events and its file (bytes and record), a recent one and an open one stay however old
they are, and a visitor with nothing left goes once idle for long enough."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from business.errors import NotFound
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, ConversationId, TenantId
from business.retention import ConfigureRetention, RetentionService
from business.transactions import Transactions
from data import Database
from data.models import ConversationRow, EventRow, VisitorRow
from data.models_files import FileRow
from tests.fakes import FakeClock
from tests.harness import World
from tests.presentation.conftest import Server, VisitorFactory
from tests.presentation.test_files_http import _upload


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _purger(world: World, days_later: float) -> RetentionService:
    return RetentionService(
        transactions=Transactions(world.uow, world.services.publisher),
        blobs=world.blobs,
        clock=FakeClock(datetime.now(UTC) + timedelta(days=days_later)),
    )


async def _count(database: Database, table: Any, *where: Any) -> int:
    async with database.begin() as connection:
        query = select(func.count()).select_from(table).where(*where)
        return int((await connection.execute(query)).scalar_one())


async def test_old_ended_conversations_and_idle_visitors_go_the_rest_stays(
    http: aiohttp.ClientSession,
    server: Server,
    new_visitor: VisitorFactory,
    world: World,
    database: Database,
) -> None:
    gone, stays = new_visitor(), new_visitor()
    await gone.connect({"tenant": "default"})
    await stays.connect({"tenant": "default"})
    ended = ConversationId(await gone.start("an old question"))
    status, body = await _upload(http, server, gone, ended)
    assert status == 201, body
    open_ = ConversationId(await stays.start("still waiting"))
    await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=ended)
    )
    await world.services.retention_settings.configure(
        ConfigureRetention(tenant_id=DEFAULT_TENANT, conversations_days=3, visitors_days=1)
    )
    # Two days on: nothing is past three days.
    (done,) = await _purger(world, 2).purge()
    assert (done.conversations, done.files, done.visitors) == (0, 0, 0)
    assert len(world.blobs.blobs) == 1

    # Four days on, a dry run says what would go and deletes nothing.
    (dry,) = await _purger(world, 4).purge(dry_run=True)
    assert (dry.conversations, dry.files) == (1, 1)
    assert len(world.blobs.blobs) == 1
    (done,) = await _purger(world, 4).purge(tenant_id=DEFAULT_TENANT)
    assert (done.tenant_id, done.conversations, done.files, done.visitors) == (
        DEFAULT_TENANT,
        1,
        1,
        1,
    )
    assert world.blobs.blobs == {}
    assert await _count(database, ConversationRow, ConversationRow.id == ended) == 0
    assert await _count(database, EventRow, EventRow.conversation_id == ended) == 0
    assert await _count(database, FileRow) == 0
    assert await _count(database, ConversationRow, ConversationRow.id == open_) == 1
    assert await _count(database, VisitorRow, VisitorRow.id == gone.session["visitor_id"]) == 0
    assert await _count(database, VisitorRow, VisitorRow.id == stays.session["visitor_id"]) == 1
    # Again: nothing left to do; a second engine's round finds the same.
    (again,) = await _purger(world, 4).purge()
    assert (again.conversations, again.visitors) == (0, 0)
    with pytest.raises(NotFound):
        await _purger(world, 4).purge(tenant_id=TenantId("nobody-else"))
