"""Two engine processes on one database: what one writes, the other must not undo.

Each ``Database`` has its own caches, as each process does; only this process's own
writes invalidate them, so anything read from a cache can be stale by up to its TTL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId
from data import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.harness import World, make_world

ALICE = "alice@example.org"


@pytest.fixture(params=BACKENDS)
async def two_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[World, World]]:
    async with fresh_database_url(request.param, tmp_path) as url:
        first, second = Database.from_url(url), Database.from_url(url)
        try:
            await first.migrate()
            yield (
                await make_world(uow=first.unit_of_work),
                await make_world(uow=second.unit_of_work),
            )
        finally:
            await first.dispose()
            await second.dispose()


async def add_alice(world: World, max_chats: int) -> AgentId:
    agent = await world.agents.add_agent(
        c.AddAgent(
            address=ALICE, queues=(DEFAULT_QUEUE,), max_chats=max_chats, tenant_id=DEFAULT_TENANT
        )
    )
    return agent.id


async def test_a_presence_change_keeps_a_capacity_set_by_another_process(
    two_processes: tuple[World, World],
) -> None:
    engine, admin = two_processes
    alice = await add_alice(engine, max_chats=2)
    # The engine has Alice in its cache (as it does after any presence or routing)...
    assert (await engine.agents.get_agent(alice)) is not None
    # ...when `chat-engine agent add` in another process raises her capacity...
    await add_alice(admin, max_chats=5)
    # ...and her presence changes within the cache's lifetime.
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=True))

    fresh = await admin.agents.get_agent(alice)
    assert fresh is not None
    assert fresh.max_chats == 5, "the presence change put the old capacity back"
    assert fresh.ready


async def test_a_presence_change_is_judged_on_the_stored_state_not_the_cache(
    two_processes: tuple[World, World],
) -> None:
    engine, other = two_processes
    alice = await add_alice(engine, max_chats=2)
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=True))
    assert (await engine.agents.get_agent(alice)).ready  # type: ignore[union-attr]
    # Another process saw her go away; this one's cache still says ready.
    await other.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=False))
    await engine.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=True))

    fresh = await other.agents.get_agent(alice)
    assert fresh is not None
    assert fresh.ready, "'already ready' was decided on a stale cached copy"


async def test_a_message_decided_on_a_stale_cached_conversation_is_decided_again(
    two_processes: tuple[World, World],
) -> None:
    """Each process caches the conversations it wrote. When the other process writes one
    (the agent's side on another engine process), the next change here finds out at
    ``save``, reads the conversation again and goes on: no seq is taken twice."""
    visitor_side, agent_side = two_processes
    alice = await add_alice(visitor_side, max_chats=2)
    await visitor_side.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=True))
    conv = await visitor_side.start(await visitor_side.visitor(), text="hello")
    await visitor_side.say(conv, "are you there?", "m-2")  # cached here now
    reply = await agent_side.agent_says(alice, conv.id, "yes!")
    later = await visitor_side.say(conv, "great", "m-3")

    assert later.seq == reply.seq + 1
    events = await agent_side.history.history(conv.id)
    assert [e.pos for e in events] == list(range(1, later.pos + 1))
