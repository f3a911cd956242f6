from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from business import commands as c
from business.errors import InvalidInput, NotFound
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    Queue,
    QueueName,
    TenantId,
)
from tests.business.locking import LockingDatabase
from tests.harness import ALICE, SALES, World, make_world


@contextmanager
def nothing_stored(engine: World) -> Iterator[None]:
    before = copy.deepcopy(engine.fakes)
    yield
    assert engine.fakes == before


def add(
    address: str = "alice@example.com",
    *,
    agent_id: AgentId | None = None,
    queues: tuple[str, ...] = ("support",),
    max_chats: int = 2,
    tenant: str = "default",
    name: str | None = None,
) -> c.AddAgent:
    return c.AddAgent(
        address=address,
        agent_id=agent_id,
        queues=tuple(QueueName(q) for q in queues),
        max_chats=max_chats,
        tenant_id=TenantId(tenant),
        name=name,
    )


# -- add_agent --------------------------------------------------------------------------


async def test_a_new_agent_gets_an_id_of_its_own_and_is_named_after_the_address(
    engine: World,
) -> None:
    agent = await engine.agents.add_agent(add(queues=("support", "sales", "support")))
    assert agent.address == "alice@example.com"
    assert len(agent.id) == 32
    assert agent.id != agent.address
    assert agent.name == "alice"
    assert agent.queues == (DEFAULT_QUEUE, SALES)
    assert agent.max_chats == 2
    assert not agent.ready
    assert engine.fakes.agents[agent.id] == agent


async def test_a_chosen_id_is_kept(engine: World) -> None:
    agent = await engine.agents.add_agent(add(agent_id=AgentId("a-17")))
    assert agent.id == "a-17"
    assert await engine.agents.find_agent("alice@example.com") == agent


async def test_a_given_name_is_used(engine: World) -> None:
    agent = await engine.agents.add_agent(add(name="  Alice Smith "))
    assert agent.name == "Alice Smith"


@pytest.mark.parametrize("spelling", ["ALICE@example.com", "\uff41lice@Example.COM"])
async def test_the_address_is_normalised_so_any_spelling_is_the_same_agent(
    engine: World, spelling: str
) -> None:
    first = await engine.agents.add_agent(add("Alice@Example.COM", max_chats=2))
    again = await engine.agents.add_agent(add(spelling, max_chats=4))
    assert first.id == again.id
    assert first.address == again.address == "alice@example.com"
    assert list(engine.fakes.agents) == [first.id]
    assert engine.fakes.agents[first.id].max_chats == 4


async def test_unknown_queues_are_created_and_known_ones_kept(engine: World) -> None:
    engine.fakes.queues[(DEFAULT_TENANT, SALES)] = Queue(
        tenant_id=DEFAULT_TENANT, name=SALES, title="Sales & Billing"
    )
    await engine.agents.add_agent(add(queues=("sales", "vip-2")))
    assert engine.fakes.queues[(DEFAULT_TENANT, SALES)].title == "Sales & Billing"
    created = engine.fakes.queues[(DEFAULT_TENANT, QueueName("vip-2"))]
    assert created.title == "Vip-2"


async def test_updating_an_agent_replaces_capacity_and_queues_and_keeps_the_rest(
    engine: World,
) -> None:
    await engine.agent(ALICE, name="Alice", queues=[DEFAULT_QUEUE], max_chats=2)
    before = engine.fakes.agents[ALICE]
    updated = await engine.agents.add_agent(add(queues=("sales",), max_chats=5))
    assert updated.name == "Alice"
    assert updated.max_chats == 5
    assert updated.queues == (SALES,)
    assert updated.ready
    assert updated.ready_since == before.ready_since
    assert engine.fakes.agents[ALICE] == updated


async def test_an_agent_of_another_tenant_cannot_be_taken_over(engine: World) -> None:
    await engine.tenants.ensure_tenant(TenantId("acme"), name="Acme")
    await engine.agents.add_agent(add())
    with nothing_stored(engine), pytest.raises(InvalidInput, match="another tenant"):
        await engine.agents.add_agent(add(tenant="acme"))


@pytest.mark.parametrize(
    "jid",
    [
        "alice",
        "@example.com",
        "alice@",
        "alice@example.com/Gajim",
        "alice smith@example.com",
        "alice@exa mple.com",
        "alice@bob@example.com",
        "alice\t@example.com",
        "",
    ],
)
async def test_an_address_that_is_no_bare_jid_is_refused(engine: World, jid: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="XMPP address"):
        await engine.agents.add_agent(add(jid))


@pytest.mark.parametrize("max_chats", [0, -1, 101])
async def test_a_capacity_out_of_range_is_refused(engine: World, max_chats: int) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="max_chats"):
        await engine.agents.add_agent(add(max_chats=max_chats))


@pytest.mark.parametrize("max_chats", [1, 100])
async def test_the_capacity_limits_are_accepted(engine: World, max_chats: int) -> None:
    assert (await engine.agents.add_agent(add(max_chats=max_chats))).max_chats == max_chats


@pytest.mark.parametrize("queue", ["Support", "-support", "sup port", "q" * 65, "", "sup/port"])
async def test_a_bad_queue_name_is_refused(engine: World, queue: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="queue name"):
        await engine.agents.add_agent(add(queues=("support", queue)))


async def test_a_queue_name_may_look_like_anything_the_desk_uses(engine: World) -> None:
    # Business does not know how the XMPP bridge spells conversation addresses.
    agent = await engine.agents.add_agent(add(queues=("c-sales",)))
    assert agent.queues == (QueueName("c-sales"),)


async def test_an_agent_needs_a_queue(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="at least one queue"):
        await engine.agents.add_agent(add(queues=()))


async def test_a_name_too_long_is_refused(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="name"):
        await engine.agents.add_agent(add(name="A" * 101))


async def test_an_unknown_tenant_is_not_found(engine: World) -> None:
    with nothing_stored(engine), pytest.raises(NotFound, match="nowhere"):
        await engine.agents.add_agent(add(tenant="nowhere", queues=("new-queue",)))


async def test_the_same_agent_added_twice_at_once_is_one_agent() -> None:
    db = LockingDatabase()
    engine = await make_world(store=db.store, uow=db.uow)
    await asyncio.gather(
        engine.agents.add_agent(add(max_chats=2)),
        engine.agents.add_agent(add(max_chats=3)),
    )
    assert len(engine.fakes.agents) == 1


# -- listing ----------------------------------------------------------------------------


async def test_agents_are_listed_per_tenant(engine: World) -> None:
    await engine.tenants.ensure_tenant(TenantId("acme"), name="Acme")
    await engine.agents.add_agent(add("bob@example.com"))
    await engine.agents.add_agent(add("alice@example.com"))
    await engine.agents.add_agent(add("carol@acme.example", tenant="acme"))
    listed = await engine.agents.list_agents(DEFAULT_TENANT)
    assert [a.address for a in listed] == ["alice@example.com", "bob@example.com"]
    assert len(await engine.agents.list_agents()) == 3
    found = await engine.agents.find_agent("bob@example.com")
    assert found is not None
    assert found.name == "bob"
    assert await engine.agents.get_agent(found.id) == found
    assert await engine.agents.get_agent(AgentId("nobody")) is None
    assert await engine.agents.find_agent("nobody@example.com") is None


# -- set_availability -------------------------------------------------------------------


async def test_availability_of_an_unknown_jid_is_ignored(engine: World) -> None:
    with nothing_stored(engine):
        result = await engine.agents.set_availability(
            c.SetAgentAvailability(agent_id=AgentId("stranger@example.com"), ready=True)
        )
    assert result is None


async def test_becoming_ready_and_away_is_recorded_with_the_time(engine: World) -> None:
    await engine.agents.add_agent(add(agent_id=ALICE))
    engine.advance(60)
    ready = await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))
    assert ready is not None
    assert ready.ready
    assert ready.ready_since == engine.clock.now()
    assert engine.fakes.agents[ALICE] == ready
    away = await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))
    assert away is not None
    assert not away.ready
    assert away.ready_since is None


async def test_repeated_presence_does_not_reset_the_idle_time(engine: World) -> None:
    await engine.agent(ALICE)
    since = engine.fakes.agents[ALICE].ready_since
    engine.advance(600)
    with nothing_stored(engine):
        again = await engine.agents.set_availability(
            c.SetAgentAvailability(agent_id=ALICE, ready=True)
        )
    assert again is not None
    assert again.ready_since == since
