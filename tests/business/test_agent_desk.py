"""What agents ask the engine: their chats, their capacity, their queues."""

from __future__ import annotations

from datetime import timedelta

import pytest

from business.errors import InvalidInput
from business.model import DEFAULT_QUEUE
from tests.harness import ALICE, BOB, SALES, World


async def test_chats_lists_open_chats_and_offers_oldest_first(engine: World) -> None:
    await engine.agent(ALICE, max_chats=3)
    first = await engine.start(await engine.visitor(), text="one")
    engine.advance(5)
    second = await engine.start(await engine.visitor(), text="two")
    await engine.agent(BOB, max_chats=1, auto_accept=False, queues=(SALES,))
    offered = await engine.start(await engine.visitor(), text="three", queue=SALES)
    assert offered.offered_to == BOB

    assert [c.id for c in await engine.services.agent_desk.chats(ALICE)] == [first.id, second.id]
    assert [c.id for c in await engine.services.agent_desk.chats(BOB)] == [offered.id]


async def test_raising_capacity_routes_waiting_chats(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1)
    await engine.start(await engine.visitor(), text="one")
    waiting = await engine.start(await engine.visitor(), text="two")
    assert engine.conv(waiting.id).agent_id is None

    agent = await engine.services.agent_desk.set_capacity(ALICE, 2)

    assert agent.max_chats == 2
    assert engine.fakes.agents[ALICE].max_chats == 2
    assert engine.conv(waiting.id).agent_id == ALICE
    with pytest.raises(InvalidInput):
        await engine.services.agent_desk.set_capacity(ALICE, 0)


async def test_queues_shows_waiting_counts_and_the_longest_wait(engine: World) -> None:
    await engine.agent(ALICE, max_chats=1, queues=(DEFAULT_QUEUE, SALES))
    await engine.start(await engine.visitor(), text="served")
    await engine.start(await engine.visitor(), text="waits")
    engine.advance(90)
    agent = engine.fakes.agents[ALICE]

    standings = await engine.services.agent_desk.queues(agent)

    assert [(s.queue, s.waiting, s.longest_wait) for s in standings] == [
        (DEFAULT_QUEUE, 1, timedelta(seconds=90)),
        (SALES, 0, None),
    ]
