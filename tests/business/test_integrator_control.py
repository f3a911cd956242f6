"""An integrator transfers conversations (``business.integrator_control.transfer``), on
the fakes (with the store's invariants: queue counts, capacity, members), SQLite and
PostgreSQL: as an agent's ``!transfer`` or the router's offer would make them, and
nothing across tenants (its end: ``test_integrator_end``)."""

from __future__ import annotations

import pytest

from business import commands as c
from business.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from business.events import (
    OfferClosed,
    OfferMade,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    Transferred,
    is_visible,
)
from business.model import (
    DEFAULT_QUEUE,
    AgentId,
    ConversationState,
    MemberRole,
    OfferKind,
    QueueName,
)
from tests.business.integrator_support import (
    GLOBEX,
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
    transfer,
    waiting,
)
from tests.business.support import nothing_stored
from tests.harness import ALICE, BOB, SALES, World

__all__ = ["any_world", "fake_world"]

QUEUED, ACTIVE, ENDED = ConversationState.QUEUED, ConversationState.ACTIVE, ConversationState.ENDED


# -- to a queue ------------------------------------------------------------------------


async def test_a_transfer_to_a_queue_requeues_the_chat_and_the_next_agent_takes_it(
    any_world: World,
) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    await world.agent_says(ALICE, conv.id, "let me see")
    await world.agent(BOB, name="Bob", queues=(SALES,))

    moved = await transfer(world, conv, queue=SALES, note="wants a quote")

    # Bob auto-accepts: the chat is his by the time the transfer returns its dispatch.
    current = await now(world, conv.id)
    assert moved.queue == SALES
    assert (current.state, current.agent_id, current.queue) == (ACTIVE, BOB, SALES)
    stream = after(await synced(world, conv), conv)
    kinds = [(type(e).__name__, getattr(e, "state", None)) for e in stream]
    assert kinds[:3] == [
        ("MessagePosted", None),
        ("ParticipantLeft", None),
        ("StateChanged", QUEUED),
    ]
    left = stream[1]
    assert isinstance(left, ParticipantLeft)
    assert left.participant.id == ALICE
    joined = [e for e in stream if isinstance(e, ParticipantJoined)]
    assert [e.participant.id for e in joined] == [BOB]
    [handed] = [e for e in await stored(world, conv.id) if isinstance(e, Transferred)]
    assert (handed.by, handed.to, handed.queue, handed.note) == (
        HELPER,
        None,
        SALES,
        "wants a quote",
    )
    # The transcript is kept: the visitor's stream still starts at seq 1.
    assert [e.seq for e in await synced(world, conv)][:3] == [1, 2, 3]
    assert await waiting(world, SALES) == 0


async def test_a_requeued_chat_goes_to_another_agent_and_alices_place_to_the_next_visitor(
    fake_world: World,
) -> None:
    world = fake_world
    await world.agent(ALICE, name="Alice", max_chats=1)
    conv = await chat_with_alice(world)
    behind = await world.start(await world.visitor(), text="me next")

    await transfer(world, conv, queue=DEFAULT_QUEUE)

    # Not back to Alice (she gave it up, if by the integrator's hand): she takes the
    # visitor who waited behind; the requeued chat waits for somebody else.
    assert (await now(world, behind.id)).agent_id == ALICE
    requeued = await now(world, conv.id)
    assert (requeued.state, requeued.agent_id, requeued.last_offered_to) == (QUEUED, None, ALICE)


async def test_a_waiting_chat_changes_queues_and_both_counts_follow(any_world: World) -> None:
    world = any_world
    await world.agent(BOB, name="Bob", auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")
    assert (await now(world, conv.id)).offered_to == BOB
    assert await waiting(world, DEFAULT_QUEUE) == 1

    moved = await transfer(world, conv, queue=SALES)

    assert (moved.state, moved.queue, moved.offered_to, moved.queue_position) == (
        QUEUED,
        SALES,
        None,
        1,
    )
    assert (await waiting(world, DEFAULT_QUEUE), await waiting(world, SALES)) == (0, 1)
    stream = after(await synced(world, conv), conv)
    assert [(type(e), getattr(e, "queue_position", None)) for e in stream] == [(StateChanged, 1)]
    closed = [e for e in await stored(world, conv.id) if isinstance(e, OfferClosed)]
    assert [(e.agent.id, e.outcome) for e in closed] == [(BOB, OfferOutcome.WITHDRAWN)]
    # Bob is not in sales: nobody there takes it, and moving it again to where it
    # waits already changes nothing.
    published = len(world.published())
    assert await transfer(world, conv, queue=SALES) == moved
    assert len(world.published()) == published


async def test_a_transfer_to_a_queue_takes_invited_agents_out_and_withdraws_an_offer(
    any_world: World,
) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    carol = AgentId("carol@example.com")
    await world.agent(BOB, name="Bob", auto_accept=False)
    await world.agent(carol, name="Carol", auto_accept=False, address="carol@example.com")
    participants = world.services.participants
    invite = c.OfferToColleague(
        agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.INVITE, target="bob@example.com"
    )
    await participants.offer(invite)
    await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    consult = c.OfferToColleague(
        agent_id=ALICE, conversation_id=conv.id, kind=OfferKind.CONSULT, target="carol@example.com"
    )
    offered = await participants.offer(consult)
    assert [m.role for m in offered.members] == [MemberRole.INVITED, MemberRole.OFFERED]

    moved = await transfer(world, conv, queue=SALES)

    assert (moved.state, moved.agent_id, moved.members, moved.offered_to) == (
        QUEUED,
        None,
        (),
        None,
    )
    left = [
        e.participant.id
        for e in after(await synced(world, offered), offered)
        if isinstance(e, ParticipantLeft)
    ]
    assert left == [BOB, ALICE]
    closed = [e for e in await stored(world, conv.id) if isinstance(e, OfferClosed)]
    assert (closed[-1].agent.id, closed[-1].outcome) == (carol, OfferOutcome.WITHDRAWN)
    # Nobody of them is in it any more: none of them may write to it.
    for agent in (ALICE, BOB, carol):
        with pytest.raises(Forbidden):
            await world.agent_says(agent, conv.id, "still here?")


# -- to an agent -----------------------------------------------------------------------


async def test_a_transfer_to_an_agent_offers_the_chat_from_the_integrator(
    any_world: World,
) -> None:
    world = any_world
    conv = await chat_with_alice(world)
    await world.agent(BOB, name="Bob", auto_accept=False)

    offered = await transfer(world, conv, agent="Bob@Example.com", note="VIP")

    assert (offered.agent_id, offered.offered_to, offered.offer_kind) == (
        ALICE,
        BOB,
        OfferKind.TRANSFER,
    )
    assert offered.offer_by is None  # no agent made it
    [offer] = [e for e in await stored(world, conv.id) if isinstance(e, OfferMade)][-1:]
    assert (offer.by, offer.note, offer.kind) == (HELPER, "VIP", OfferKind.TRANSFER)
    assert not [e for e in after(await synced(world, conv), conv) if is_visible(e)]

    await world.agent_says(BOB, conv.id, "Bob here")

    taken = await now(world, conv.id)
    assert (taken.agent_id, taken.members) == (BOB, ())
    stream = after(await synced(world, conv), conv)
    assert [type(e).__name__ for e in stream] == [
        "ParticipantLeft",
        "ParticipantJoined",
        "MessagePosted",
    ]


async def test_a_waiting_chat_is_offered_to_the_agent_as_the_router_would(
    any_world: World,
) -> None:
    world = any_world
    await world.agent(ALICE, name="Alice", auto_accept=False)
    conv = await world.start(await world.visitor(), text="hello")
    assert (await now(world, conv.id)).offered_to == ALICE
    await world.agent(BOB, name="Bob", queues=(SALES,), auto_accept=False)

    offered = await transfer(world, conv, agent="bob@example.com")

    assert (offered.state, offered.offered_to, offered.offer_kind) == (QUEUED, BOB, OfferKind.ROUTE)
    closed = [e for e in await stored(world, conv.id) if isinstance(e, OfferClosed)]
    assert [(e.agent.id, e.outcome) for e in closed] == [(ALICE, OfferOutcome.WITHDRAWN)]
    await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    taken = await now(world, conv.id)
    assert (taken.state, taken.agent_id) == (ACTIVE, BOB)
    assert await waiting(world, DEFAULT_QUEUE) == 0


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        ({"agent": "nobody@example.com"}, NotFound, "no agent has the address"),
        ({"agent": "globex@example.com"}, NotFound, "no agent has the address"),
        ({"agent": "alice@example.com"}, InvalidTransition, "Alice has this chat already"),
        ({"agent": "bob@example.com"}, InvalidTransition, "Bob is not ready"),
        ({"agent": "carol@example.com"}, InvalidTransition, "no free place"),
        ({"queue": QueueName("billing")}, NotFound, "no queue is called billing"),
        ({"queue": QueueName("Billing!")}, InvalidInput, "queue name"),
        ({}, InvalidInput, "either a queue or an agent"),
        ({"queue": SALES, "agent": "bob@example.com"}, InvalidInput, "either a queue or an agent"),
        ({"agent": "  "}, InvalidInput, "must not be empty"),
    ],
)
async def test_a_transfer_that_cannot_be_made_is_refused_saying_why(
    fake_world: World, target: dict[str, str], error: type[Exception], message: str
) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    await world.agent(BOB, name="Bob", ready=False)
    carol = AgentId("carol@example.com")
    await world.agent(carol, name="Carol", max_chats=1, address="carol@example.com")
    await world.start(await world.visitor(), text="for Carol")  # her one place is taken
    await world.agents.add_agent(
        c.AddAgent(
            address="globex@example.com",
            queues=(DEFAULT_QUEUE,),
            max_chats=3,
            tenant_id=GLOBEX,
            name="Gus",
        )
    )
    with nothing_stored(world), pytest.raises(error, match=message):
        await transfer(world, conv, **target)  # type: ignore[arg-type]


async def test_a_held_chat_goes_to_a_queue_but_not_to_an_agent(fake_world: World) -> None:
    world = fake_world
    conv = await chat_with_alice(world)
    await world.agent(BOB, name="Bob", auto_accept=False)
    await world.services.hold.hold(c.HoldChat(agent_id=ALICE, conversation_id=conv.id))
    with nothing_stored(world), pytest.raises(InvalidTransition, match="on hold"):
        await transfer(world, conv, agent="bob@example.com")
    moved = await transfer(world, conv, queue=DEFAULT_QUEUE)
    assert moved.state is QUEUED
    # Offered to Bob now: Alice had it last and is passed over.
    assert (await now(world, moved.id)).offered_to == BOB


async def test_nothing_of_another_tenant_nor_an_ended_chat_can_be_transferred(
    fake_world: World,
) -> None:
    world = fake_world
    theirs = await globex_chat(world)
    with nothing_stored(world), pytest.raises(NotFound, match="unknown conversation"):
        await transfer(world, theirs, queue=DEFAULT_QUEUE)
    conv = await chat_with_alice(world)
    await end(world, conv)
    for target in ({"queue": SALES}, {"agent": "alice@example.com"}):
        with nothing_stored(world), pytest.raises(InvalidTransition, match="ended"):
            await transfer(world, conv, **target)
