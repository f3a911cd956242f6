from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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
