"""Two tenants in one engine, each with a queue called ``support``: routing, offers,
capacity and the offer clock stay within a tenant, and what an agent or supervisor
names (a colleague, a queue, a chat) is found only in their own. On the fakes, SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import DomainError, InvalidTransition, NotFound
from business.model import (
    DEFAULT_QUEUE,
    Agent,
    AgentId,
    AgentRole,
    ConversationId,
    ConversationState,
    OfferKind,
    QueueName,
    TenantId,
)
from business.ports import UnitOfWorkFactory
from tests.harness import ALICE, BOB, World, make_world

ACME = TenantId("acme")
BILLING = QueueName("billing")
"""Only Acme has it."""
ZOE = AgentId("zoe")
YAN = AgentId("yan")
SAM = AgentId("sam")
ADDRESSES = {
    ALICE: "alice@example.com",
    BOB: "bob@example.com",
    ZOE: "zoe@acme.example",
    YAN: "yan@acme.example",
    SAM: "sam@acme.example",
}


@pytest.fixture
async def world(uow_factory: UnitOfWorkFactory) -> World:
    """The default tenant and Acme, both with ``support``; Acme also has ``billing``."""
    world = await make_world(uow=uow_factory, agent_addresses=ADDRESSES, queues=(DEFAULT_QUEUE,))
    await world.tenants.ensure_tenant(ACME, name="Acme", queues=(DEFAULT_QUEUE, BILLING))
    return world


async def acme_agent(world: World, agent_id: AgentId, **kwargs: object) -> AgentId:
    return await world.agent(agent_id, tenant_id=ACME, **kwargs)  # type: ignore[arg-type]


async def acme_supervisor(world: World) -> AgentId:
    """Sam supervises Acme's ``support``: a queue of the same name as the default's."""
    await world.agents.add_agent(
        c.AddAgent(
            address=ADDRESSES[SAM],
            agent_id=SAM,
            queues=(BILLING,),
            max_chats=1,
            tenant_id=ACME,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    return SAM


async def now(world: World, cid: ConversationId) -> Conversation:
    return await world.conversations.get_conversation(cid)


async def refusal(action: Awaitable[object]) -> tuple[type[DomainError], str]:
    with pytest.raises(DomainError) as raised:
        await action
    return type(raised.value), str(raised.value)


async def test_each_tenants_chats_go_to_its_own_agents_within_their_capacity(
    world: World,
) -> None:
    await world.agent(ALICE, max_chats=5)
    await acme_agent(world, ZOE, max_chats=1)

    first = await world.start(await world.visitor(ACME), text="hello from Acme")
    ours = await world.start(await world.visitor(), text="hello from the default shop")
    second = await world.start(await world.visitor(ACME), text="me too")

    assert (first.tenant_id, first.agent_id) == (ACME, ZOE)
    assert (ours.tenant_id, ours.agent_id) == (TenantId("default"), ALICE)
    # Zoe is full and Alice, with room to spare, is another tenant's: the chat waits.
    second = await now(world, second.id)
    assert second.state is ConversationState.QUEUED
    assert (second.agent_id, second.offered_to) == (None, None)
    desk = world.services.agent_desk
    assert [s.waiting for s in await desk.queues(await agent(world, ZOE))] == [1]
    assert [s.waiting for s in await desk.queues(await agent(world, ALICE))] == [0]

    await world.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ZOE, conversation_id=first.id)
    )
    assert (await now(world, second.id)).agent_id == ZOE


async def agent(world: World, agent_id: AgentId) -> Agent:
    found = await world.agents.find_agent(ADDRESSES[agent_id])
    assert found is not None
    return found


async def test_an_unanswered_offer_goes_on_to_the_next_agent_of_the_same_tenant(
    world: World,
) -> None:
    await world.agent(ALICE, max_chats=5)
    await acme_agent(world, ZOE, auto_accept=False)

    conv = await world.start(await world.visitor(ACME), text="anyone?")
    assert conv.offered_to == ZOE
    await acme_agent(world, YAN, auto_accept=False)
    world.advance(21)
    assert await world.services.offers.expire_due() == 1

    assert (await now(world, conv.id)).offered_to == YAN
    world.advance(21)
    assert await world.services.offers.expire_due() == 1
    # Nobody of Acme is left ready; Alice, ready and free, is never offered it.
    after = await now(world, conv.id)
    assert (after.state, after.offered_to, after.agent_id) == (ConversationState.QUEUED, None, None)


async def test_colleagues_and_queues_are_found_only_in_the_chats_tenant(world: World) -> None:
    await world.agent(ALICE, max_chats=5)
    await acme_agent(world, ZOE, max_chats=5)
    conv = await world.start(await world.visitor(), text="I want a refund")
    assert conv.agent_id == ALICE

    def offer(kind: OfferKind, target: str) -> Awaitable[object]:
        return world.services.participants.offer(
            c.OfferToColleague(agent_id=ALICE, conversation_id=conv.id, kind=kind, target=target)
        )

    for kind in OfferKind:
        # Zoe's address answers as an address nobody has.
        foreign = await refusal(offer(kind, ADDRESSES[ZOE]))
        unknown = await refusal(offer(kind, "nobody@acme.example"))
        assert foreign == (NotFound, "no agent has the address zoe@acme.example")
        assert unknown == (NotFound, "no agent has the address nobody@acme.example")
        # Acme's billing answers as a queue nobody has.
        assert await refusal(offer(kind, BILLING)) == (
            NotFound,
            "no agent or queue is called billing",
        )
        assert await refusal(offer(kind, "nosuch")) == (
            NotFound,
            "no agent or queue is called nosuch",
        )
    # ``support`` is the chat's own tenant's: Zoe, ready in Acme's support, is not in it.
    assert await refusal(offer(OfferKind.INVITE, DEFAULT_QUEUE)) == (
        InvalidTransition,
        "nobody in queue support can take it now",
    )
    assert (await now(world, conv.id)).members == ()


async def test_a_supervisor_finds_no_chat_nor_agent_of_another_tenant(world: World) -> None:
    await world.agent(ALICE, max_chats=5)
    await acme_supervisor(world)
    conv = await world.start(await world.visitor(), text="hello")
    before = await now(world, conv.id)
    nobody = ConversationId("0" * 32)
    monitoring = world.services.supervision

    def monitor(target: str, *, stop: bool = False) -> Awaitable[object]:
        return monitoring.monitor(c.Monitor(supervisor_id=SAM, target=target, stop=stop))

    unknown = (NotFound, "unknown conversation")
    assert await refusal(monitor(conv.id)) == await refusal(monitor(nobody)) == unknown
    assert await refusal(monitor(conv.id, stop=True)) == unknown
    whisper = monitoring.whisper
    assert (
        await refusal(whisper(c.Whisper(supervisor_id=SAM, conversation_id=conv.id, text="x")))
        == await refusal(whisper(c.Whisper(supervisor_id=SAM, conversation_id=nobody, text="x")))
        == unknown
    )
    barge = monitoring.barge
    assert (
        await refusal(barge(c.Barge(supervisor_id=SAM, conversation_id=conv.id)))
        == await refusal(barge(c.Barge(supervisor_id=SAM, conversation_id=nobody)))
        == unknown
    )
    assert await refusal(monitor(ADDRESSES[ALICE])) == (
        NotFound,
        f"no agent has the address {ADDRESSES[ALICE]}",
    )

    after = await now(world, conv.id)
    assert (after.last_pos, after.members) == (before.last_pos, before.members)
    assert (await agent(world, ALICE)).monitored_by == ()


async def test_a_supervisor_still_monitors_their_own_tenants_chats(world: World) -> None:
    await acme_agent(world, ZOE, max_chats=5)
    await acme_supervisor(world)
    conv = await world.start(await world.visitor(ACME), text="hello")

    done = await world.services.supervision.monitor(c.Monitor(supervisor_id=SAM, target=conv.id))

    assert list(done.conversations) == [conv.id]
    assert [m.agent_id for m in (await now(world, conv.id)).members] == [SAM]
