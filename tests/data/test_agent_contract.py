"""The agent and adapter-state repositories' contract, over the fakes, SQLite and
PostgreSQL (split from ``test_repository_contract``)."""

from __future__ import annotations

import dataclasses

import pytest

from business.model import (
    Agent,
    AgentId,
    Queue,
    QueueName,
    TenantId,
)
from business.ports import UnitOfWorkFactory
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    REJECTED,
    SALES,
    SUPPORT,
    TENANT,
    agent,
    assert_utc,
    at,
    seed,
    written,
)

# -- agents -----------------------------------------------------------------------------


async def test_agent_round_trip_keeps_queue_order(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    full = Agent(
        id=ALICE,
        tenant_id=TENANT,
        address="alice@example.org",
        name="Alice Agent",
        max_chats=5,
        queues=(SUPPORT, QueueName("vip"), SALES),
        ready=True,
        ready_since=at(1),
        last_routed_at=at(2),
    )
    minimal = agent(BOB)
    async with uow_factory() as uow:
        await uow.agents.add(full)
        await uow.agents.add(minimal)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.agents.get(ALICE)
        assert found == full
        assert found is not None
        assert isinstance(found.queues, tuple)
        assert_utc(found.ready_since)
        assert_utc(found.last_routed_at)
        assert await uow.agents.get(BOB) == minimal
        assert await uow.agents.get(AgentId("a-nobody")) is None


async def test_agent_writes_change_only_the_fields_they_name(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.agents.add(agent(ALICE, queues=(SUPPORT, SALES)))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.agents.update_profile(ALICE, name="A.", max_chats=9, queues=(SALES, SUPPORT))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.agents.set_ready(ALICE, True, at(5))
        await uow.agents.set_routed(ALICE, at(6))
        await uow.commit()
    expected = agent(
        ALICE,
        name="A.",
        max_chats=9,
        queues=(SALES, SUPPORT),
        ready=True,
        ready_since=at(5),
        last_routed_at=at(6),
    )
    async with uow_factory() as uow:
        assert await uow.agents.get(ALICE) == expected
        await uow.agents.update_profile(
            ALICE, name="A.", max_chats=9, queues=(QueueName("vip"), SALES, SUPPORT)
        )
        await uow.agents.set_ready(ALICE, False, None)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.agents.get(ALICE, for_update=True)
        assert found == dataclasses.replace(
            expected, queues=(QueueName("vip"), SALES, SUPPORT), ready=False, ready_since=None
        )


async def test_writing_an_agent_that_was_never_added_is_a_key_error(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        for write in (
            uow.agents.set_ready(ALICE, True, at(1)),
            uow.agents.set_routed(ALICE, at(1)),
            uow.agents.update_profile(ALICE, name="A", max_chats=1, queues=(SUPPORT,)),
        ):
            with pytest.raises(KeyError):
                await write


async def test_agents_are_found_by_address_which_is_unique(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.agents.add(agent(ALICE))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.agents.get_by_address("alice@example.org") == agent(ALICE)
        found = await uow.agents.get_by_address("alice@example.org", for_update=True)
        assert found == agent(ALICE)
        assert await uow.agents.get_by_address("nobody@example.org") is None
    async with uow_factory() as uow:
        with pytest.raises(REJECTED):
            await written(uow, uow.agents.add(agent(BOB, address="alice@example.org")))


async def test_agent_lists_are_by_address_and_filtered(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    carol = AgentId("a-carol")
    async with uow_factory() as uow:
        await uow.agents.add(agent(carol, queues=(SALES, SUPPORT)))
        await uow.agents.add(agent(BOB, queues=(SALES,)))
        await uow.agents.add(agent(ALICE, queues=(SUPPORT,)))
        await uow.agents.add(agent(AgentId("a-zed"), tenant_id=OTHER_TENANT, queues=(SUPPORT,)))
        await uow.commit()
    async with uow_factory() as uow:
        assert [a.id for a in await uow.agents.list()] == [
            ALICE,
            BOB,
            carol,
            "a-zed",
        ]
        assert [a.id for a in await uow.agents.list(TENANT)] == [ALICE, BOB, carol]
        support = await uow.agents.list_for_queue(TENANT, SUPPORT)
        assert [a.id for a in support] == [ALICE, carol]
        assert support[1] == agent(carol, queues=(SALES, SUPPORT))
        assert [a.id for a in await uow.agents.list_for_queue(TENANT, SALES)] == [BOB, carol]
        assert await uow.agents.list_for_queue(TENANT, QueueName("vip")) == []
        assert await uow.agents.list(TenantId("nobody")) == []


async def test_adapter_state_put_is_an_upsert_and_lists_one_adapter_by_key(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.adapter_state.get("xmpp", "b") is None
        await uow.adapter_state.put("xmpp", "b", {"on": True, "n": 1})
        await uow.adapter_state.put("xmpp", "a", {"text": "é", "none": None})
        await uow.adapter_state.put("other", "a", {"x": 1.5})
        await uow.commit()
    async with uow_factory() as uow:
        await uow.adapter_state.put("xmpp", "b", {"on": False})
        assert await uow.adapter_state.get("xmpp", "b") == {"on": False}
        await uow.commit()
    async with uow_factory() as uow:
        assert list(await uow.adapter_state.list("xmpp")) == [
            ("a", {"text": "é", "none": None}),
            ("b", {"on": False}),
        ]
        assert await uow.adapter_state.get("other", "a") == {"x": 1.5}
        assert list(await uow.adapter_state.list("nobody")) == []


async def test_queue_counters_change_in_place(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.queues.add_waiting(TENANT, SUPPORT, 1)
        await uow.queues.add_waiting(TENANT, SUPPORT, 1)
        await uow.queues.set_max_waiting(TENANT, SUPPORT, 40)
        await uow.commit()
    async with uow_factory() as uow:
        await uow.queues.add_waiting(TENANT, SUPPORT, -1)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.queues.get(TENANT, SUPPORT, for_update=True)
        assert found == Queue(
            tenant_id=TENANT, name=SUPPORT, title="Support", waiting=1, max_waiting=40
        )
        other = await uow.queues.get(OTHER_TENANT, SUPPORT)
        assert other is not None
        assert other.waiting == 0
        assert other.max_waiting is None
