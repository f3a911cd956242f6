"""The webhook outbox on the real databases: deliveries go into the message path's own
transaction (on SQLite its single hop), cost no read once the tenant's subscriptions
are cached, follow subscription changes at once, and a failing outbox write takes the
event down with it."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from business.errors import Unavailable
from business.model import DEFAULT_TENANT, ConversationId, VisitorId
from business.webhook_commands import CreateWebhook
from data.database import Database
from tests.business.webhook_support import HOSTS, URL
from tests.data.test_message_path import post, statements, stored_messages
from tests.fakes_webhooks import ScriptedTransport, TableResolver
from tests.harness import World, make_world


async def world_on(database: Database) -> tuple[World, VisitorId, ConversationId]:
    world = await make_world(
        uow=database.unit_of_work, resolver=TableResolver(HOSTS), transport=ScriptedTransport()
    )
    visitor = await world.visitor()
    conv = await world.start(visitor, "hello")
    return world, visitor, conv.id


async def subscribe(world: World, *event_types: str) -> None:
    await world.services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url=URL, event_types=event_types)
    )


async def outbox(database: Database) -> list[tuple[str, str]]:
    async with database.begin() as connection:
        rows = await connection.execute(
            text("SELECT conversation_id, event_type FROM webhook_deliveries ORDER BY pos, part")
        )
        return [(row[0], row[1]) for row in rows]


async def test_a_message_stages_its_delivery_in_its_own_writes_without_reading(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    await subscribe(world, "message.created")
    await world.messaging.send_visitor_message(post(visitor, conv, "warm"))
    with statements() as seen:
        await world.messaging.send_visitor_message(post(visitor, conv, "m-1"))
    expected = Counter(
        {
            "UPDATE conversations SET": 1,
            "INSERT INTO conversation_events": 1,
            "INSERT INTO webhook_deliveries": 1,
        }
    )
    if database.dialect == "sqlite":
        expected["BEGIN IMMEDIATE"] = 1
    assert seen == expected
    assert await outbox(database) == [(conv, "message.created")] * 2


async def test_a_subscription_applies_from_the_next_event_in_this_process(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    await world.messaging.send_visitor_message(post(visitor, conv, "before"))
    assert await outbox(database) == []
    await subscribe(world, "message.created")
    await world.messaging.send_visitor_message(post(visitor, conv, "after"))
    assert await outbox(database) == [(conv, "message.created")]
    (sub,) = await world.services.webhooks.list(DEFAULT_TENANT)
    await world.services.webhooks.delete(DEFAULT_TENANT, sub.id)
    await world.messaging.send_visitor_message(post(visitor, conv, "gone"))
    assert await outbox(database) == []


async def test_a_failing_outbox_write_fails_the_message_and_stores_nothing(
    database: Database,
) -> None:
    world, visitor, conv = await world_on(database)
    await subscribe(world)
    before = await stored_messages(database, conv)
    published = len(world.recorder.published)
    async with database.begin() as connection:
        await connection.execute(text("DROP TABLE webhook_attempts"))
        await connection.execute(text("DROP TABLE webhook_deliveries"))
    # The outbox cannot be written (SQLite says OperationalError, which the unit of
    # work reports as Unavailable; PostgreSQL a ProgrammingError).
    with pytest.raises((Unavailable, ProgrammingError)) as failure:
        await world.messaging.send_visitor_message(post(visitor, conv, "lost"))
    assert "webhook_deliveries" in str(failure.value.__cause__ or failure.value)
    assert await stored_messages(database, conv) == before
    assert len(world.recorder.published) == published
    stored = await world.conversations.get_conversation(conv)
    database.caches.clear()
    assert await world.conversations.get_conversation(conv) == stored
