"""A queue's own inactivity texts on the real databases (migration 0033): stored as
written (any script, up to the limit), read by another process, NULL again when reset."""

from __future__ import annotations

from pathlib import Path

import pytest

from business import commands as c
from business.inactivity_settings import MAX_IDLE_TEXT
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data.database import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.harness import make_world

ALERT = "هل ما زلت هنا؟ 👋 « Toujours là ? »"
CLOSED = "é" * MAX_IDLE_TEXT


async def set_texts(database: Database, alert: str, close: str) -> None:
    world = await make_world(uow=database.unit_of_work)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            visitor_idle_alert_text=alert,
            visitor_idle_close_text=close,
        )
    )


async def stored(database: Database) -> tuple[str | None, str | None]:
    async with database.unit_of_work() as uow:
        queue = await uow.queues.get(DEFAULT_TENANT, DEFAULT_QUEUE)
        listed = [q for q in await uow.queues.list(DEFAULT_TENANT) if q.name == DEFAULT_QUEUE]
    assert queue is not None
    assert [(q.visitor_idle_alert_text, q.visitor_idle_close_text) for q in listed] == [
        (queue.visitor_idle_alert_text, queue.visitor_idle_close_text)
    ]
    return queue.visitor_idle_alert_text, queue.visitor_idle_close_text


@pytest.mark.parametrize("backend", BACKENDS)
async def test_own_texts_are_stored_read_elsewhere_and_reset(backend: str, tmp_path: Path) -> None:
    async with fresh_database_url(backend, tmp_path) as url:
        database = Database.from_url(url)
        try:
            await database.migrate()
            await make_world(uow=database.unit_of_work)  # the default tenant and queue
            assert await stored(database) == (None, None)
            await set_texts(database, ALERT, CLOSED)
        finally:
            await database.dispose()

        again = Database.from_url(url)
        try:
            assert await stored(again) == (ALERT, CLOSED)
            await set_texts(again, "", "")
            assert await stored(again) == (None, None)
        finally:
            await again.dispose()
