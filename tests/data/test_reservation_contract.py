"""The reservations' reads (``business.reawaken_ports``) and the columns of migration
0025, against the in-memory fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

from business.model import ConversationState, Queue, QueueName
from business.ports import UnitOfWorkFactory
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    SUPPORT,
    add_conversations,
    assert_utc,
    at,
    conversation,
    seed,
)

QUEUED, ACTIVE = ConversationState.QUEUED, ConversationState.ACTIVE


async def test_reserved_until_round_trips_and_is_saved(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    reserved = conversation("c-1", preferred_agent_id=ALICE, reserved_until=at(120))
    await add_conversations(uow_factory, reserved)
    async with uow_factory() as uow:
        found = await uow.conversations.get(reserved.id, for_update=True)
        assert found == reserved
        assert found is not None
        assert_utc(found.reserved_until)
        await uow.conversations.save(
            dataclasses.replace(found, reserved_until=None), previous=found
        )
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.conversations.get(reserved.id)
        assert again is not None
        assert again.reserved_until is None


async def test_list_due_is_the_queued_ones_due_soonest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(
        uow_factory,
        conversation("c-late", preferred_agent_id=ALICE, reserved_until=at(30)),
        conversation("c-early", preferred_agent_id=BOB, reserved_until=at(10)),
        conversation("c-exact", preferred_agent_id=ALICE, reserved_until=at(60)),
        conversation("c-future", preferred_agent_id=ALICE, reserved_until=at(61)),
        conversation("c-plain", preferred_agent_id=ALICE),
        # Not queued any more: never due (a change out of the queue clears it anyway).
        conversation("c-active", state=ACTIVE, agent_id=ALICE, reserved_until=at(5)),
    )
    async with uow_factory() as uow:
        due = await uow.reservations.list_due(at(60), 10)
        assert [c.id for c in due] == ["c-early", "c-late", "c-exact"]
        assert [c.id for c in await uow.reservations.list_due(at(60), 2)] == ["c-early", "c-late"]
        assert await uow.reservations.list_due(at(9), 10) == []


async def test_list_for_agent_is_theirs_still_reserved_oldest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(
        uow_factory,
        conversation("c-newer", created_at=at(2), preferred_agent_id=ALICE, reserved_until=at(90)),
        conversation("c-older", created_at=at(1), preferred_agent_id=ALICE, reserved_until=at(99)),
        conversation("c-bobs", preferred_agent_id=BOB, reserved_until=at(90)),
        conversation("c-over", preferred_agent_id=ALICE, reserved_until=at(50)),
        conversation("c-soft", preferred_agent_id=ALICE),
    )
    async with uow_factory() as uow:
        mine = await uow.reservations.list_for_agent(ALICE, at(50))
        assert [c.id for c in mine] == ["c-older", "c-newer"]
        assert [c.id for c in await uow.reservations.list_for_agent(BOB, at(90))] == []


async def test_the_reawaken_window_is_stored_with_the_queue(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        found = await uow.queues.get(OTHER_TENANT, SUPPORT, for_update=True)
        assert found is not None
        assert found.reawaken_window == 120  # the default
        await uow.queues.save_settings(dataclasses.replace(found, reawaken_window=0))
        await uow.commit()
    async with uow_factory() as uow:
        again = await uow.queues.get(OTHER_TENANT, SUPPORT)
        assert again == dataclasses.replace(found, reawaken_window=0)
    async with uow_factory() as uow:
        await uow.queues.add(
            Queue(tenant_id=OTHER_TENANT, name=QueueName("vip"), title="VIP", reawaken_window=7)
        )
        await uow.commit()
    async with uow_factory() as uow:
        vip = await uow.queues.get(OTHER_TENANT, QueueName("vip"))
        assert vip is not None
        assert vip.reawaken_window == 7
