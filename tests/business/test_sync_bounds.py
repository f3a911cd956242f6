"""``sync`` from a seq past the largest a conversation can hold answers "nothing newer",
on every store (PostgreSQL would otherwise refuse the number: ``seq`` is 32 bits)."""

from __future__ import annotations

from pathlib import Path

import pytest

from business import commands as c
from tests.conftest import BACKENDS, open_database
from tests.harness import make_world


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sync_from_beyond_any_seq_is_empty(backend: str, tmp_path: Path) -> None:
    async with open_database(backend, tmp_path) as db:
        world = await make_world(uow=db.unit_of_work)
        conv = await world.start(await world.visitor(), text="hello")
        for after in (2**31, 2**53):
            page = await world.history.sync(
                c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=after)
            )
            assert (list(page.events), page.has_more) == ([], False)
        everything = await world.history.sync(
            c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
        )
        assert [e.seq for e in everything.events][:2] == [1, 2]
