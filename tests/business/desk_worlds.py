"""A ``World`` on each store: the fakes, SQLite and PostgreSQL, for the use-case tests
that must hold on all three (the fakes cannot drift from the SQL repositories)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.events import ConversationEvent
from tests.conftest import BACKENDS, open_database
from tests.harness import ALICE, World, assert_store_consistent, make_world

STORES = [pytest.param("fakes", id="fakes"), *BACKENDS]


@pytest.fixture(params=STORES)
async def desk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """The engine's services on the fakes, then on SQLite, then on PostgreSQL."""
    if request.param == "fakes":
        world = await make_world()
        yield world
        assert_store_consistent(world.fakes)
        return
    async with open_database(request.param, tmp_path) as database:
        yield await make_world(uow=database.unit_of_work)


async def chat_with_alice(world: World, text: str = "hello") -> Conversation:
    """An active chat of a new visitor with Alice, opened with ``text``."""
    await world.agent(ALICE, name="Alice", max_chats=10)
    conv = await world.start(await world.visitor(), text=text)
    assert conv.agent_id == ALICE
    return conv


async def synced(world: World, conv: Conversation) -> list[ConversationEvent]:
    """What the visitor gets on ``sync`` from 0."""
    result = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    return list(result.events)
