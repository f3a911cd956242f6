"""A visitor's erasure (``business.visitor_data``) over SQLite and PostgreSQL, for what
the REST API's test does not reach: a visitor of the API channel (SMS, WhatsApp), whose
address on that service is what identifies them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from business import commands as c
from business.api_channel import ReceiveApiMessage
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from data.models import Base
from tests.conftest import BACKENDS, open_database
from tests.harness import World, make_world

PHONE = "+15550142"


@pytest.fixture(params=BACKENDS)
async def sql_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with open_database(request.param, tmp_path) as db:
        world = await make_world(uow=db.unit_of_work)
        world.database = db  # type: ignore[attr-defined]
        yield world


async def test_erasing_an_api_visitor_leaves_no_trace_of_their_address(
    sql_world: World,
) -> None:
    world = sql_world
    got = await world.services.api_channel.receive(
        ReceiveApiMessage(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            external_id=PHONE,
            provider_message_id="SM1",
            text="Where is my parcel?",
            provider="sms",
            name="Dana",
        )
    )
    conv = got.conversation
    assert conv.external_id == PHONE
    await world.conversations.end_by_visitor(
        c.EndConversationByVisitor(visitor_id=conv.visitor_id, conversation_id=conv.id)
    )
    await world.services.visitor_data.erase(DEFAULT_TENANT, conv.visitor_id, actor="test")

    dump = []
    async with world.database.begin() as connection:  # type: ignore[attr-defined]
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                dump.append(f"{table.name}: {tuple(row)!r}")
    assert not [line for line in dump if PHONE in line]
