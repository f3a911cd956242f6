"""An integrator ends conversations (``business.integrator_control.end``), on the fakes
(with the store's invariants), SQLite and PostgreSQL: the same end path as the
visitor's and the agent's, its agent (not the integrator) leaving, the reason kept for
the agent desk, and nothing across tenants."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.events import (
    OfferClosed,
    OfferOutcome,
    ParticipantLeft,
    StateChanged,
    WrapUpRecorded,
)
from business.integrator_commands import SYSTEM, EndByIntegrator
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationState,
    Participant,
    ParticipantKind,
)
from business.webhook_payloads import conversation_ended_data
from tests.business.integrator_support import (
    HELPER,
    after,
    any_world,
    chat_with_alice,
    end,
    fake_world,
    globex_chat,
    now,
    stored,
    synced,
    waiting,
)
from tests.business.support import nothing_stored
from tests.harness import ALICE, BOB, World

__all__ = ["any_world", "fake_world"]

QUEUED, ENDED = ConversationState.QUEUED, ConversationState.ENDED


async def test_the_end_takes_the_agent_out_records_the_reason_and_frees_their_place(
    any_world: World,
) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice", max_chats=1)
    conv = await chat_with_alice(world)
    behind = await world.start(await world.visitor(), text="me next")
    assert behind.state is QUEUED

    ended = await end(world, conv, reason="  resolved by the order bot ")

    assert ended.state is ENDED
    assert ended.ended_at is not None
    left, state = after(await synced(world, conv), conv)
    # The agent is who leaves, not the system; the visitor sees the end.
    assert isinstance(left, ParticipantLeft)
    assert (left.participant.id, left.role) == (ALICE, "owner")
    assert isinstance(state, StateChanged)
    assert state.state is ENDED
    [wrap_up] = [e for e in await stored(world, conv.id) if isinstance(e, WrapUpRecorded)]
    assert wrap_up.by == SYSTEM
    assert (wrap_up.code, wrap_up.note) == (None, "resolved by the order bot")
    # As after any end: the visitor's last agent is remembered, and Alice's free place
    # goes to the next visitor.
    visitor = await world.services.visitor_queries.get(DEFAULT_TENANT, conv.visitor_id)
    assert visitor.last_agent_id == ALICE
    assert (await now(world, behind.id)).agent_id == ALICE


async def test_ending_a_waiting_chat_withdraws_its_offer_and_frees_its_place(
    any_world: World,
) -> None:
    world = any_world
    await world.agent(BOB, name="Bob", auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")
    assert (await now(world, conv.id)).offered_to == BOB

    ended = await end(world, conv)

    assert ended.state is ENDED
    assert [type(e) for e in after(await synced(world, conv), conv)] == [StateChanged]
    closed = [e for e in await stored(world, conv.id) if isinstance(e, OfferClosed)]
    assert [e.outcome for e in closed] == [OfferOutcome.WITHDRAWN]
    assert not any(isinstance(e, WrapUpRecorded) for e in await stored(world, conv.id))
    assert await waiting(world, DEFAULT_QUEUE) == 0


async def test_ending_an_ended_chat_changes_nothing_and_another_tenants_is_not_found(
    fake_world: World,
) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    ended = await end(world, conv)
    with nothing_stored(world):
        assert await end(world, conv, reason="again") == ended
    theirs = await globex_chat(world)
    with nothing_stored(world), pytest.raises(NotFound, match="unknown conversation"):
        await end(world, theirs)
    with pytest.raises(InvalidInput, match="bot or as the system"):
        await world.services.integrator_control.end(
            EndByIntegrator(
                tenant_id=DEFAULT_TENANT,
                conversation_id=conv.id,
                actor=ended.agent,  # an agent is no integrator
            )
        )


@pytest.mark.parametrize("actor", [HELPER, SYSTEM], ids=["bot", "system"])
async def test_the_report_and_the_webhook_say_the_integrator_ended_it(
    any_world: World, actor: Participant
) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice")
    conv = await chat_with_alice(world)
    before = await now(world, conv.id)

    await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, actor=actor)
    )

    # Alice leaves, but it is the integrator who ended it: not "agent".
    report = await world.services.reports.get(DEFAULT_TENANT, conv.id)
    assert report.ended_by is actor.kind
    change = [e for e in await stored(world, conv.id) if e.pos > before.last_pos]
    data = conversation_ended_data(await now(world, conv.id), change)
    assert data["ended_by"] == {"kind": actor.kind.value, "name": actor.name, "id": actor.id}


async def test_an_agents_end_still_says_agent(any_world: World) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice")
    conv = await chat_with_alice(world)
    await world.services.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    report = await world.services.reports.get(DEFAULT_TENANT, conv.id)
    assert report.ended_by is ParticipantKind.AGENT
