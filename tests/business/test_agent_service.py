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
    AgentSubscription,
    Queue,
    QueueName,
    TenantId,
)
from business.services import ensure_tenant
from tests.business.harness import ALICE, BOB, SALES, Engine, make_engine
from tests.business.locking import LockingDatabase
from tests.fakes import FakeUnitOfWork


@contextmanager
def nothing_stored(engine: Engine) -> Iterator[None]:
    before = copy.deepcopy(engine.store)
    yield
    assert engine.store == before


def add(
    agent_id: str = "alice@example.com",
    *,
    queues: tuple[str, ...] = ("support",),
    max_chats: int = 2,
    tenant: str = "default",
    name: str | None = None,
) -> c.AddAgent:
    return c.AddAgent(
        agent_id=AgentId(agent_id),
        queues=tuple(QueueName(q) for q in queues),
        max_chats=max_chats,
        tenant_id=TenantId(tenant),
        name=name,
    )


# -- add_agent --------------------------------------------------------------------------


async def test_a_new_agent_is_named_after_the_jid_and_not_ready(engine: Engine) -> None:
    agent = await engine.agents.add_agent(add(queues=("support", "sales", "support")))
    assert agent.id == ALICE
    assert agent.name == "alice"
    assert agent.queues == (DEFAULT_QUEUE, SALES)
    assert agent.max_chats == 2
    assert not agent.ready
    assert engine.store.agents[ALICE] == agent


async def test_a_given_name_is_used(engine: Engine) -> None:
    agent = await engine.agents.add_agent(add(name="  Alice Smith "))
    assert agent.name == "Alice Smith"


async def test_the_jid_is_stored_in_lower_case_and_matched_in_any_case(engine: Engine) -> None:
    first = await engine.agents.add_agent(add("Alice@Example.COM", max_chats=2))
    again = await engine.agents.add_agent(add("ALICE@example.com", max_chats=4))
    assert first.id == again.id == ALICE
    assert list(engine.store.agents) == [ALICE]
    assert engine.store.agents[ALICE].max_chats == 4


async def test_unknown_queues_are_created_and_known_ones_kept(engine: Engine) -> None:
    engine.store.queues[(DEFAULT_TENANT, SALES)] = Queue(
        tenant_id=DEFAULT_TENANT, name=SALES, title="Sales & Billing"
    )
    await engine.agents.add_agent(add(queues=("sales", "vip-2")))
    assert engine.store.queues[(DEFAULT_TENANT, SALES)].title == "Sales & Billing"
    created = engine.store.queues[(DEFAULT_TENANT, QueueName("vip-2"))]
    assert created.title == "Vip-2"


async def test_updating_an_agent_replaces_capacity_and_queues_and_keeps_the_rest(
    engine: Engine,
) -> None:
    await engine.agent(ALICE, name="Alice", queues=[DEFAULT_QUEUE], max_chats=2)
    before = engine.store.agents[ALICE]
    updated = await engine.agents.add_agent(add(queues=("sales",), max_chats=5))
    assert updated.name == "Alice"
    assert updated.max_chats == 5
    assert updated.queues == (SALES,)
    assert updated.ready
    assert updated.ready_since == before.ready_since
    assert engine.store.agents[ALICE] == updated


async def test_an_agent_of_another_tenant_cannot_be_taken_over(engine: Engine) -> None:
    await ensure_tenant(lambda: FakeUnitOfWork(engine.store), TenantId("acme"), name="Acme")
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
async def test_a_jid_that_is_not_bare_is_refused(engine: Engine, jid: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="bare JID"):
        await engine.agents.add_agent(add(jid))


@pytest.mark.parametrize("max_chats", [0, -1, 101])
async def test_a_capacity_out_of_range_is_refused(engine: Engine, max_chats: int) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="max_chats"):
        await engine.agents.add_agent(add(max_chats=max_chats))


@pytest.mark.parametrize("max_chats", [1, 100])
async def test_the_capacity_limits_are_accepted(engine: Engine, max_chats: int) -> None:
    assert (await engine.agents.add_agent(add(max_chats=max_chats))).max_chats == max_chats


@pytest.mark.parametrize(
    "queue", ["Support", "-support", "sup port", "q" * 65, "", "sup/port", "c-sales"]
)
async def test_a_bad_queue_name_is_refused(engine: Engine, queue: str) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="queue name"):
        await engine.agents.add_agent(add(queues=("support", queue)))


async def test_an_agent_needs_a_queue(engine: Engine) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="at least one queue"):
        await engine.agents.add_agent(add(queues=()))


async def test_a_name_too_long_is_refused(engine: Engine) -> None:
    with nothing_stored(engine), pytest.raises(InvalidInput, match="name"):
        await engine.agents.add_agent(add(name="A" * 101))


async def test_an_unknown_tenant_is_not_found(engine: Engine) -> None:
    with nothing_stored(engine), pytest.raises(NotFound, match="nowhere"):
        await engine.agents.add_agent(add(tenant="nowhere", queues=("new-queue",)))


async def test_the_same_agent_added_twice_at_once_is_one_agent() -> None:
    db = LockingDatabase()
    engine = await make_engine(store=db.store, uow=db.uow)
    await asyncio.gather(
        engine.agents.add_agent(add(max_chats=2)),
        engine.agents.add_agent(add(max_chats=3)),
    )
    assert list(engine.store.agents) == [ALICE]


# -- listing ----------------------------------------------------------------------------


async def test_agents_are_listed_per_tenant(engine: Engine) -> None:
    await ensure_tenant(lambda: FakeUnitOfWork(engine.store), TenantId("acme"), name="Acme")
    await engine.agents.add_agent(add("bob@example.com"))
    await engine.agents.add_agent(add("alice@example.com"))
    await engine.agents.add_agent(add("carol@acme.example", tenant="acme"))
    assert [a.id for a in await engine.agents.list_agents(DEFAULT_TENANT)] == [ALICE, BOB]
    assert len(await engine.agents.list_agents()) == 3
    found = await engine.agents.get_agent(BOB)
    assert found is not None
    assert found.name == "bob"
    assert await engine.agents.get_agent(AgentId("nobody@example.com")) is None


# -- set_availability -------------------------------------------------------------------


async def test_availability_of_an_unknown_jid_is_ignored(engine: Engine) -> None:
    with nothing_stored(engine):
        result = await engine.agents.set_availability(
            c.SetAgentAvailability(agent_id=AgentId("stranger@example.com"), ready=True)
        )
    assert result is None


async def test_becoming_ready_and_away_is_recorded_with_the_time(engine: Engine) -> None:
    await engine.agents.add_agent(add())
    engine.clock.advance(60)
    ready = await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=True))
    assert ready is not None
    assert ready.ready
    assert ready.ready_since == engine.clock.now()
    assert engine.store.agents[ALICE] == ready
    away = await engine.agents.set_availability(c.SetAgentAvailability(agent_id=ALICE, ready=False))
    assert away is not None
    assert not away.ready
    assert away.ready_since is None


async def test_repeated_presence_does_not_reset_the_idle_time(engine: Engine) -> None:
    await engine.agent(ALICE)
    since = engine.store.agents[ALICE].ready_since
    engine.clock.advance(600)
    with nothing_stored(engine):
        again = await engine.agents.set_availability(
            c.SetAgentAvailability(agent_id=ALICE, ready=True)
        )
    assert again is not None
    assert again.ready_since == since


# -- subscriptions ----------------------------------------------------------------------


async def test_an_unknown_subscription_is_none_both_ways(engine: Engine) -> None:
    sub = await engine.agents.get_subscription(ALICE, DEFAULT_QUEUE)
    assert sub == AgentSubscription(agent_id=ALICE, queue=DEFAULT_QUEUE)
    assert not sub.agent_sees_queue
    assert not sub.queue_sees_agent
    assert engine.store.subscriptions == {}


async def test_subscriptions_are_saved_updated_and_listed(engine: Engine) -> None:
    await engine.agents.save_subscription(
        AgentSubscription(agent_id=BOB, queue=SALES, agent_sees_queue=True)
    )
    await engine.agents.save_subscription(
        AgentSubscription(agent_id=ALICE, queue=DEFAULT_QUEUE, queue_sees_agent=True)
    )
    await engine.agents.save_subscription(
        AgentSubscription(agent_id=BOB, queue=SALES, agent_sees_queue=True, queue_sees_agent=True)
    )
    bob = await engine.agents.get_subscription(BOB, SALES)
    assert bob.agent_sees_queue
    assert bob.queue_sees_agent
    listed = await engine.agents.list_subscriptions()
    assert [(s.agent_id, s.queue) for s in listed] == [(ALICE, DEFAULT_QUEUE), (BOB, SALES)]
