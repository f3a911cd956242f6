"""Messaging threads started through two engine processes at once (a visitor with a
signed identity on two devices, each connected to another engine): a start without
``new_thread`` returns the visitor's open thread, so two of them at once must end up in
one thread, not two (``business.starts``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.harness import World, make_world


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


@pytest.mark.parametrize("mode", ["messaging", "live"])
async def test_two_starts_at_once_on_two_processes_open_one_conversation(
    two_processes: tuple[World, World], mode: str
) -> None:
    one, two = two_processes
    await one.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode=mode)
    )
    visitor = await one.visitor()

    first, second = await asyncio.gather(
        one.start(visitor, "from the phone", client_msg_id="phone"),
        two.start(visitor, "from the laptop", client_msg_id="laptop"),
    )

    assert first.id == second.id
    async with one.uow() as uow:
        threads = await uow.conversations.list_for_visitor(visitor)
    assert [conv.id for conv in threads if conv.is_open] == [first.id]
