"""Reawaken (the Genesys workbin, ``business.reawaken_rules``): a held chat the visitor
answers while its agent cannot take it waits in the queue for that agent alone for the
queue's ``reawaken_window``, then goes to anybody.

The flows run on the fakes, SQLite and PostgreSQL (the reservations' reads are
``SqlReservationRepository``'s there); on the fakes every test also checks the store's
invariants.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidInput
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ConversationState
from business.reawaken_rules import MAX_REAWAKEN_WINDOW
from tests.business.support import nothing_stored
from tests.conftest import BACKENDS, open_database
from tests.harness import (
    ALICE,
    BOB,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

QUEUED = ConversationState.QUEUED
ACTIVE = ConversationState.ACTIVE


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    if request.param == "fake":
        fake = await make_world()
        yield fake
        assert_store_consistent(fake.fakes)
        assert_published_once(fake)
        return
    async with open_database(request.param, tmp_path) as db:
        yield await make_world(uow=db.unit_of_work)


async def now(world: World, conv: Conversation) -> Conversation:
    return await world.conversations.get_conversation(conv.id)


async def set_ready(world: World, agent_id: AgentId, ready: bool) -> None:
    await world.agents.set_availability(c.SetAgentAvailability(agent_id=agent_id, ready=ready))


async def window(world: World, seconds: int) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, reawaken_window=seconds)
    )


async def answered_while_away(world: World, *, auto_accept: bool = True) -> Conversation:
    """Alice's chat on hold; she goes not ready; the visitor answers: queued again."""
    await world.agent(ALICE, auto_accept=auto_accept)
    conv = await world.start(await world.visitor(), text="where is my parcel?")
    if not auto_accept:
        await world.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv.id))
    assert (await now(world, conv)).agent_id == ALICE
    await world.services.hold.hold(c.HoldChat(agent_id=ALICE, conversation_id=conv.id))
    await set_ready(world, ALICE, False)
    await world.visitor_says(conv.visitor_id, conv.id, "any news?")
    queued = await now(world, conv)
    assert (queued.state, queued.agent_id, queued.preferred_agent_id) == (QUEUED, None, ALICE)
    return queued


async def test_while_reserved_only_its_agent_is_offered_it(world: World) -> None:
    queued = await answered_while_away(world)
    assert queued.reserved_until == world.clock.now() + timedelta(seconds=120)  # the default

    # Bob is ready and idle: he does not get it, but he does get a newcomer behind it.
    await world.agent(BOB)
    assert (await now(world, queued)).offered_to is None
    newcomer = await world.start(await world.visitor(), text="hi")
    assert (await now(world, newcomer)).agent_id == BOB
    still = await now(world, queued)
    assert (still.state, still.agent_id, still.queue_position) == (QUEUED, None, 1)
    # Alice is told it waits for her rather than "not yours".
    with pytest.raises(Forbidden, match="waits in the queue for you alone"):
        await world.agent_says(ALICE, queued.id, "back soon")


async def test_its_agent_ready_within_the_window_gets_it(world: World) -> None:
    queued = await answered_while_away(world)
    await world.agent(BOB)
    world.advance(100)

    await set_ready(world, ALICE, True)

    back = await now(world, queued)
    assert (back.state, back.agent_id) == (ACTIVE, ALICE)
    assert back.reserved_until is None  # set only while queued
    assert await world.services.reawaken.reserved_chats(ALICE) == []


async def test_after_the_window_anybody_gets_it(world: World) -> None:
    queued = await answered_while_away(world)
    await world.agent(BOB)
    world.advance(119)
    assert await world.services.reawaken.end_due() == 0
    assert (await now(world, queued)).offered_to is None

    world.advance(1)
    assert await world.services.reawaken.end_due() == 1

    taken = await now(world, queued)
    assert (taken.state, taken.agent_id, taken.reserved_until) == (ACTIVE, BOB, None)
    assert await world.services.reawaken.end_due() == 0


async def test_with_window_zero_anybody_gets_it_at_once(world: World) -> None:
    await window(world, 0)
    await world.agent(BOB, ready=False)
    queued = await answered_while_away(world)
    assert queued.reserved_until is None

    await set_ready(world, BOB, True)

    assert (await now(world, queued)).agent_id == BOB


async def test_a_deadline_survives_a_restart(world: World) -> None:
    await window(world, 300)
    queued = await answered_while_away(world)
    await world.agent(BOB)
    world.advance(301)

    # Another process over the same storage (an engine restarted) ends it.
    restarted = world.another_process()
    restarted.services.publisher.subscribe(world.recorder)  # one record of what was published
    assert await restarted.services.reawaken.end_due() == 1

    assert (await now(world, queued)).agent_id == BOB


async def test_passing_on_its_offer_ends_the_reservation(world: World) -> None:
    queued = await answered_while_away(world, auto_accept=False)
    await world.agent(BOB, auto_accept=False)
    assert (await now(world, queued)).offered_to is None

    await set_ready(world, ALICE, True)
    assert (await now(world, queued)).offered_to == ALICE
    await world.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=queued.id))

    # She passed: it is no longer kept for her, and Bob is offered it at once.
    assert (await now(world, queued)).offered_to == BOB
    assert await world.services.reawaken.reserved_chats(ALICE) == []


async def test_removing_its_agent_ends_the_reservation_at_once(world: World) -> None:
    queued = await answered_while_away(world)
    await world.agent(BOB)

    await world.services.agent_removal.remove(
        c.RemoveAgent(tenant_id=DEFAULT_TENANT, agent_id=ALICE)
    )

    assert (await now(world, queued)).agent_id == BOB


async def test_reserved_chats_lists_them_for_their_agent_only(world: World) -> None:
    queued = await answered_while_away(world)
    await world.agent(BOB, ready=False)
    world.advance(20)

    [reserved] = await world.services.reawaken.reserved_chats(ALICE)

    assert reserved.conversation.id == queued.id
    assert reserved.left == timedelta(seconds=100)
    assert await world.services.reawaken.reserved_chats(BOB) == []
    world.advance(100)
    assert await world.services.reawaken.reserved_chats(ALICE) == []


async def test_the_window_is_stored_and_checked(world: World) -> None:
    await window(world, 3600)
    queue = await world.services.queue_settings.get(DEFAULT_TENANT, DEFAULT_QUEUE)
    assert queue is not None
    assert queue.reawaken_window == 3600


@pytest.mark.parametrize("seconds", [-1, MAX_REAWAKEN_WINDOW + 1])
async def test_a_bad_window_is_refused_saying_why(engine: World, seconds: int) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput) as refused:
        await window(engine, seconds)
    assert str(refused.value) == (
        f"the reawaken window must be 0 (off) to {MAX_REAWAKEN_WINDOW} seconds, not {seconds}"
    )
