from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.business.harness import (
    Engine,
    assert_published_once,
    assert_store_consistent,
    make_engine,
)


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    """A wired business layer over the in-memory fakes.

    After every test that uses it, whatever it did must have kept seqs gap-free, stored
    each client_msg_id once and published every stored event exactly once.
    """
    engine = await make_engine()
    yield engine
    assert_store_consistent(engine.store)
    assert_published_once(engine)
