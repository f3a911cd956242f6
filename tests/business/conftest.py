from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.business import bot_support
from tests.conftest import BACKENDS
from tests.harness import World, assert_published_once, assert_store_consistent, make_world


@pytest.fixture
async def engine() -> AsyncIterator[World]:
    """The engine's services over the in-memory fakes.

    After every test that uses it, whatever it did must have kept seqs gap-free, stored
    each client_msg_id once, kept queue counts true and published every stored event
    exactly once.
    """
    world = await make_world()
    yield world
    assert_store_consistent(world.fakes)
    assert_published_once(world)


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def bot_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """The engine with the bot first in queue ``support`` (see ``bot_support``)."""
    async for world in bot_support.bot_world(request.param, tmp_path):
        yield world
