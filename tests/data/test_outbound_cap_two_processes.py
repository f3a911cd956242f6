"""Outbound threads opened through two engine processes at once to a visitor one thread
short of the most they may have open in a queue: the queue's row, held before the
count (``business.outbound_threads.open_parked``), lets one through and refuses the
other, as it does for the visitor's own starts. Two engines reach one database only on
PostgreSQL (SQLite is one process), so it runs there, and on SQLite as a check that
the lock changes nothing for one writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, VisitorId
from business.outbound_visitors import OpenThreadToVisitor
from business.threads import MAX_OPEN_THREADS, ThreadRefused
from data import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.harness import ALICE, World, make_world


@pytest.fixture(params=BACKENDS)
async def two_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[World, World]]:
    async with fresh_database_url(request.param, tmp_path) as url:
        first, second = Database.from_url(url), Database.from_url(url)
        try:
            await first.migrate()
            one = await make_world(uow=first.unit_of_work)
            yield one, await make_world(uow=second.unit_of_work)
        finally:
            await first.dispose()
            await second.dispose()


def to(visitor: VisitorId, text: str) -> OpenThreadToVisitor:
    return OpenThreadToVisitor(
        tenant_id=DEFAULT_TENANT,
        queue=DEFAULT_QUEUE,
        agent_address=ALICE,
        text=text,
        visitor_id=visitor,
    )


@pytest.mark.parametrize("attempt", range(3))
async def test_two_opens_at_once_to_the_last_free_place_open_one_thread(
    two_processes: tuple[World, World], attempt: int
) -> None:
    one, two = two_processes
    await one.agent(ALICE, max_chats=20)
    await one.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    visitor = await one.visitor()
    for n in range(MAX_OPEN_THREADS - 1):
        # By both engines, so that each has what it caches and both race from the start.
        engine = (one, two)[n % 2]
        await engine.services.outbound_visitor_threads.open_thread(to(visitor, f"Earlier {n}"))

    outcomes = await asyncio.gather(
        one.services.outbound_visitor_threads.open_thread(to(visitor, "From engine one")),
        two.services.outbound_visitor_threads.open_thread(to(visitor, "From engine two")),
        return_exceptions=True,
    )

    opened = [o for o in outcomes if isinstance(o, Conversation)]
    refused = [o for o in outcomes if isinstance(o, ThreadRefused)]
    assert (len(opened), len(refused)) == (1, 1), outcomes
    async with one.uow() as uow:
        threads = await uow.conversations.list_for_visitor(visitor)
    assert sum(1 for conv in threads if conv.is_open) == MAX_OPEN_THREADS
