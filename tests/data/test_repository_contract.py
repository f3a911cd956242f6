"""The repository contract, run against the in-memory fakes, SQLite and PostgreSQL.

Business tests run on the fakes; these tests make sure the fakes behave like the real
storage, so a business test that passes on a fake means the same on a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from business.errors import Conflict
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorId,
)
from business.ports import UnitOfWork, UnitOfWorkFactory
from business.visit import ChainStep, StartedBy
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    OTHER_VISITOR,
    REJECTED,
    SALES,
    SUPPORT,
    T0,
    TENANT,
    VISITOR,
    add_conversations,
    agent,
    assert_utc,
    at,
    conversation,
    full_conversation,
    message,
    seed,
    written,
)

# -- tenants, queues, visitors ----------------------------------------------------------


async def test_tenant_round_trip(uow_factory: UnitOfWorkFactory) -> None:
    tenant = Tenant(id=TENANT, name="Acme Ltd", created_at=T0)
    async with uow_factory() as uow:
        await uow.tenants.add(tenant)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.tenants.get(TENANT)
        assert found == tenant
        assert found is not None
        assert_utc(found.created_at)
        assert await uow.tenants.get(TenantId("nobody")) is None


async def test_queues_round_trip_and_list_by_name_within_tenant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.queues.add(Queue(tenant_id=TENANT, name=QueueName("billing"), title="Billing"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.queues.get(TENANT, QueueName("billing")) == Queue(
            tenant_id=TENANT, name=QueueName("billing"), title="Billing"
        )
        assert await uow.queues.get(OTHER_TENANT, QueueName("billing")) is None
        assert [q.name for q in await uow.queues.list(TENANT)] == ["billing", "sales", "support"]
        assert [q.name for q in await uow.queues.list(OTHER_TENANT)] == ["sales", "support"]
        assert await uow.queues.list(TenantId("nobody")) == []


async def test_visitor_round_trip_and_token_lookup_within_tenant(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    named = Visitor(id=VisitorId("v-named"), tenant_id=TENANT, created_at=at(9), name="Ann")
    async with uow_factory() as uow:
        await uow.visitors.add(named, "hash-named")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.visitors.get(named.id) == named
        assert await uow.visitors.get(VISITOR) == Visitor(
            id=VISITOR, tenant_id=TENANT, created_at=T0
        )
        assert await uow.visitors.get(VisitorId("nobody")) is None
        assert await uow.visitors.get_by_token_hash(TENANT, "hash-named") == named
        # A token is only good for the tenant it was issued by.
        assert await uow.visitors.get_by_token_hash(OTHER_TENANT, "hash-named") is None
        assert await uow.visitors.get_by_token_hash(TENANT, "unknown") is None


async def test_a_token_hash_the_tenant_has_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)  # VISITOR has "hash-1"
    again = Visitor(id=VisitorId("v-again"), tenant_id=TENANT, created_at=T0)
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await written(uow, uow.visitors.add(again, "hash-1"))
    async with uow_factory() as uow:
        assert await uow.visitors.get(again.id) is None
        # Another tenant's visitor may have the same one.
        await uow.visitors.add(dataclasses.replace(again, tenant_id=OTHER_TENANT), "hash-1")
        await uow.commit()


async def test_duplicate_ids_are_rejected(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    async with uow_factory() as uow:
        await uow.agents.add(agent(ALICE))
        await uow.commit()
    duplicates: list[Callable[[UnitOfWork], Awaitable[None]]] = [
        lambda uow: uow.tenants.add(Tenant(id=TENANT, name="again", created_at=T0)),
        lambda uow: uow.queues.add(Queue(tenant_id=TENANT, name=SUPPORT, title="again")),
        lambda uow: uow.visitors.add(Visitor(id=VISITOR, tenant_id=TENANT, created_at=T0), "h"),
        lambda uow: uow.conversations.add(conversation("c-1", visitor_name="again")),
        lambda uow: uow.agents.add(agent(ALICE, name="again")),
    ]
    for add_again in duplicates:
        async with uow_factory() as uow:
            with pytest.raises(REJECTED):
                await written(uow, add_again(uow))
    async with uow_factory() as uow:
        assert (await uow.tenants.get(TENANT)) == Tenant(id=TENANT, name="Acme", created_at=T0)
        conv = await uow.conversations.get(ConversationId("c-1"))
        assert conv is not None
        assert conv.visitor_name == "Ann"
        found = await uow.agents.get(ALICE)
        assert found is not None
        assert found.name == "alice"


# -- conversations ----------------------------------------------------------------------


async def test_conversation_round_trip_of_every_field(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    # What started it is written once, with the conversation.
    started = StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help")
    full = dataclasses.replace(full_conversation(), started_by=started)
    minimal = conversation("c-min")
    await add_conversations(uow_factory, full, minimal)
    async with uow_factory() as uow:
        found = await uow.conversations.get(full.id)
        assert found == full
        assert found is not None
        for value in (found.created_at, found.assigned_at, found.ended_at):
            assert_utc(value)
        assert await uow.conversations.get(minimal.id) == minimal
        assert await uow.conversations.get(full.id, for_update=True) == full
        assert await uow.conversations.get(ConversationId("nobody")) is None
        assert await uow.conversations.get(ConversationId("nobody"), for_update=True) is None


async def test_conversation_save_writes_every_mutable_field(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    changed = dataclasses.replace(full_conversation("c-1"), queue=SUPPORT)
    async with uow_factory() as uow:
        before = await uow.conversations.get(changed.id, for_update=True)
        assert before is not None
        await uow.conversations.save(changed, previous=before)
        # Read your own writes before commit.
        assert await uow.conversations.get(changed.id) == changed
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.conversations.get(changed.id) == changed
        # And back to the defaults: None and empty values are written too (but seqs
        # and cursors never move back).
        reset = dataclasses.replace(
            conversation("c-1"),
            last_seq=changed.last_seq,
            last_pos=changed.last_pos,
            visitor_read_seq=changed.visitor_read_seq,
            agent_delivered_pos=changed.agent_delivered_pos,
        )
        await uow.conversations.save(reset, previous=changed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.conversations.get(changed.id) == reset
        assert await uow.conversations.get(changed.id, for_update=True) == reset


async def test_cursors_never_move_back(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    start = dataclasses.replace(conversation("c-1"), last_seq=9, last_pos=9)
    await add_conversations(uow_factory, start)
    ahead = dataclasses.replace(start, visitor_read_seq=7, agent_delivered_pos=8)
    async with uow_factory() as uow:
        await uow.conversations.save(ahead, previous=start)
        await uow.commit()
    # Decided on the older copy: the cursors stay where the other writer put them.
    behind = dataclasses.replace(start, visitor_read_seq=3, agent_delivered_pos=2)
    async with uow_factory() as uow:
        await uow.conversations.save(behind, previous=start)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.conversations.get(start.id, for_update=True) == ahead


async def test_a_save_decided_on_a_stale_copy_is_a_conflict_and_writes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    stale = conversation("c-1")
    async with uow_factory() as uow:
        await uow.conversations.save(
            dataclasses.replace(stale, last_seq=1, last_pos=1), previous=stale
        )
        await uow.commit()
    async with uow_factory() as uow:
        changed = dataclasses.replace(stale, last_seq=1, last_pos=1, visitor_read_seq=1)
        with pytest.raises(Conflict):
            await written(uow, uow.conversations.save(changed, previous=stale))
    async with uow_factory() as uow:
        found = await uow.conversations.get(ConversationId("c-1"))
        assert found == dataclasses.replace(stale, last_seq=1, last_pos=1)


async def test_saving_an_unknown_conversation_or_agent_fails(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    never = conversation("c-never-added")
    async with uow_factory() as uow:
        # A queued write finds out at commit, and cannot tell "gone" from "changed".
        with pytest.raises((LookupError, Conflict)):
            await written(uow, uow.conversations.save(never, previous=never))
    async with uow_factory() as uow:
        with pytest.raises(LookupError):
            await uow.agents.set_ready(ALICE, True, at(1))
    async with uow_factory() as uow:
        assert await uow.conversations.get(ConversationId("c-never-added")) is None
        assert await uow.agents.get(ALICE) is None


async def test_list_for_visitor_is_the_open_ones_and_the_newest_ended_newest_first(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    ended = ConversationState.ENDED
    await add_conversations(
        uow_factory,
        conversation("c-b", created_at=at(20), state=ended, ended_at=at(30)),
        conversation("c-old", created_at=at(5), state=ended, ended_at=at(6)),
        conversation("c-c", created_at=at(10)),
        conversation("c-a", created_at=at(20)),
        conversation("c-d", created_at=at(40), queue=SALES),
        conversation("c-other", visitor_id=OTHER_VISITOR, tenant_id=OTHER_TENANT),
    )
    async with uow_factory() as uow:
        found = await uow.conversations.list_for_visitor(VISITOR, ended=1)
        # Same created_at: the larger id comes first, so the order is total.
        assert [c.id for c in found] == ["c-d", "c-b", "c-a", "c-c"]
        assert [c.id for c in await uow.conversations.list_for_visitor(VISITOR)] == [
            "c-d",
            "c-a",
            "c-c",
        ]
        every = await uow.conversations.list_for_visitor(VISITOR, ended=5)
        assert [c.id for c in every] == ["c-d", "c-b", "c-a", "c-c", "c-old"]
        assert await uow.conversations.list_for_visitor(VisitorId("nobody"), ended=1) == []


@pytest.mark.parametrize("for_update", [False, True])
async def test_list_queued_is_one_queue_longest_waiting_first(
    uow_factory: UnitOfWorkFactory, for_update: bool
) -> None:
    await seed(uow_factory)
    await add_conversations(
        uow_factory,
        conversation("c-3", created_at=at(30)),
        conversation("c-1", created_at=at(10)),
        conversation("c-2b", created_at=at(20)),
        conversation("c-2a", created_at=at(20)),
        conversation("c-active", created_at=at(1), state=ConversationState.ACTIVE, agent_id=ALICE),
        conversation("c-ended", created_at=at(2), state=ConversationState.ENDED),
        conversation("c-sales", created_at=at(3), queue=SALES),
        conversation(
            "c-other-tenant", created_at=at(4), tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR
        ),
    )
    async with uow_factory() as uow:
        queued = await uow.conversations.list_queued(
            TENANT, SUPPORT, limit=10, for_update=for_update
        )
        assert [c.id for c in queued] == ["c-1", "c-2a", "c-2b", "c-3"]
        assert queued[0] == conversation("c-1", created_at=at(10))
        head = await uow.conversations.list_queued(TENANT, SUPPORT, limit=2, for_update=for_update)
        assert [c.id for c in head] == ["c-1", "c-2a"]
        assert await uow.conversations.list_queued(TENANT, SUPPORT, limit=0) == []
        assert await uow.conversations.list_queued(TENANT, QueueName("empty"), limit=10) == []


async def test_count_active_by_agent(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    active = ConversationState.ACTIVE
    await add_conversations(
        uow_factory,
        conversation("c-1", state=active, agent_id=ALICE),
        conversation("c-2", state=active, agent_id=ALICE),
        conversation("c-3", state=active, agent_id=BOB),
        conversation("c-4", state=ConversationState.ENDED, agent_id=BOB),
        conversation("c-5", state=active, agent_id=AgentId("carol@example.org")),
        conversation(
            "c-6", state=active, agent_id=ALICE, tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR
        ),
    )
    async with uow_factory() as uow:
        counts = await uow.conversations.count_active_by_agent(
            TENANT, [ALICE, BOB, AgentId("dave@example.org")]
        )
        assert {k: v for k, v in counts.items() if v} == {ALICE: 2, BOB: 1}
        assert counts.get(AgentId("dave@example.org"), 0) == 0
        assert dict(await uow.conversations.count_active_by_agent(TENANT, [])) == {}


async def test_list_undelivered_to_agents(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    active = ConversationState.ACTIVE
    await add_conversations(
        uow_factory,
        conversation(
            "c-late",
            created_at=at(5),
            state=active,
            agent_id=ALICE,
            last_seq=4,
            last_pos=4,
            agent_delivered_pos=3,
        ),
        conversation(
            "c-early",
            created_at=at(1),
            state=active,
            agent_id=BOB,
            last_seq=2,
            last_pos=2,
            agent_delivered_pos=0,
        ),
        conversation(
            "c-done",
            created_at=at(2),
            state=active,
            agent_id=ALICE,
            last_seq=4,
            last_pos=4,
            agent_delivered_pos=4,
        ),
        conversation("c-queued", created_at=at(3), last_seq=3, last_pos=3),
        conversation(
            "c-ended",
            created_at=at(4),
            state=ConversationState.ENDED,
            agent_id=BOB,
            last_seq=9,
            last_pos=9,
            agent_delivered_pos=8,
        ),
    )
    async with uow_factory() as uow:
        found = await uow.conversations.list_undelivered_to_agents()
        assert [c.id for c in found] == ["c-early", "c-ended", "c-late"]


# -- the unit of work -------------------------------------------------------------------


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.tenants.add(Tenant(id=TenantId("t-new"), name="New", created_at=T0))
        await uow.conversations.add(conversation("c-1"))
        await uow.events.add(message("c-1", 1))
        await uow.agents.add(agent(ALICE))
        await uow.adapter_state.put("xmpp", ALICE, {"on": True})
        # Visible inside the unit of work...
        assert await uow.tenants.get(TenantId("t-new")) is not None
        assert await uow.agents.get(ALICE) == agent(ALICE)
    # ...and gone after it.
    async with uow_factory() as uow:
        assert await uow.tenants.get(TenantId("t-new")) is None
        assert await uow.conversations.get(ConversationId("c-1")) is None
        assert list(await uow.events.list_after(ConversationId("c-1"), 0, 10)) == []
        assert await uow.agents.get(ALICE) is None
        assert list(await uow.adapter_state.list("xmpp")) == []


async def test_an_exception_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)

    class BoomError(Exception):
        pass

    async def fail_half_way() -> None:
        async with uow_factory() as uow:
            await uow.conversations.add(conversation("c-1"))
            raise BoomError

    with pytest.raises(BoomError):
        await fail_half_way()
    async with uow_factory() as uow:
        assert await uow.conversations.get(ConversationId("c-1")) is None


async def test_work_after_a_commit_is_a_new_transaction(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        await uow.conversations.add(conversation("c-1"))
        await uow.commit()
        # The same block goes on, as open_session does after creating a visitor.
        assert await uow.conversations.get(ConversationId("c-1")) == conversation("c-1")
        await uow.conversations.add(conversation("c-2"))
    async with uow_factory() as uow:
        assert await uow.conversations.get(ConversationId("c-1")) == conversation("c-1")
        assert await uow.conversations.get(ConversationId("c-2")) is None


async def test_a_new_unit_of_work_sees_committed_changes(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    async with uow_factory() as uow:
        conv = await uow.conversations.get(ConversationId("c-1"), for_update=True)
        assert conv is not None
        await uow.conversations.save(
            dataclasses.replace(conv, last_seq=1, last_pos=1), previous=conv
        )
        await uow.events.add(message("c-1", 1))
        await uow.commit()
    async with uow_factory() as uow:
        conv = await uow.conversations.get(ConversationId("c-1"))
        assert conv is not None
        assert conv.last_seq == 1
        assert [e.seq for e in await uow.events.list_after(conv.id, 0, 10)] == [1]
