"""The repository contract, run against the in-memory fakes, SQLite and PostgreSQL.

Business tests run on the fakes; these tests make sure the fakes behave like the real
storage, so a business test that passes on a fake means the same on a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from business.conversation import Conversation
from business.errors import Conflict
from business.events import (
    ConversationEvent,
    MessagePosted,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
)
from business.model import (
    Agent,
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    Queue,
    QueueName,
    Tenant,
    TenantId,
    Visitor,
    VisitorContext,
    VisitorId,
)
from business.ports import UnitOfWork, UnitOfWorkFactory
from tests.fakes_directory import DuplicateKey

REJECTED = (DuplicateKey, IntegrityError)
"""How a UNIQUE or foreign-key violation shows: the fake's error or the database's."""


async def written(uow: UnitOfWork, write: Awaitable[None]) -> None:
    """``write`` and commit: a repository may queue a write (conversations and events
    do), so a refusal can come from the write or from the commit."""
    await write
    await uow.commit()


T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
TENANT = TenantId("acme")
OTHER_TENANT = TenantId("globex")
SUPPORT = QueueName("support")
SALES = QueueName("sales")
VISITOR = VisitorId("v-1")
OTHER_VISITOR = VisitorId("v-2")
ALICE = AgentId("a-alice")
BOB = AgentId("a-bob")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.utcoffset() == timedelta(0)


async def seed(uow_factory: UnitOfWorkFactory) -> None:
    """Two tenants with queues and visitors: what conversations and agents refer to."""
    async with uow_factory() as uow:
        for tenant in (TENANT, OTHER_TENANT):
            await uow.tenants.add(Tenant(id=tenant, name=tenant.title(), created_at=T0))
            for queue in (SUPPORT, SALES):
                await uow.queues.add(Queue(tenant_id=tenant, name=queue, title=queue.title()))
        await uow.visitors.add(Visitor(id=VISITOR, tenant_id=TENANT, created_at=T0), "hash-1")
        await uow.visitors.add(
            Visitor(id=OTHER_VISITOR, tenant_id=OTHER_TENANT, created_at=T0), "hash-2"
        )
        await uow.commit()


def conversation(conversation_id: str, **changes: object) -> Conversation:
    base = Conversation(
        id=ConversationId(conversation_id),
        tenant_id=TENANT,
        visitor_id=VISITOR,
        visitor_name="Ann",
        queue=SUPPORT,
        state=ConversationState.QUEUED,
        created_at=T0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def full_conversation(conversation_id: str = "c-full") -> Conversation:
    """Every field set to a value other than its default."""
    return conversation(
        conversation_id,
        visitor_name="Ann Example",
        queue=SALES,
        state=ConversationState.ACTIVE,
        created_at=at(1),
        context=VisitorContext(
            page_url="https://shop.example/cart?x=1",
            page_title="Cart — Shop",
            referrer="https://search.example/",
            custom={"plan": "gold", "émoji": "✓"},
        ),
        form={"name": "Ann", "email": "ann@example.org"},
        agent_id=ALICE,
        agent_name="Alice",
        last_seq=7,
        last_pos=7,
        visitor_read_seq=5,
        agent_delivered_pos=6,
        queue_position=3,
        assigned_at=at(2),
        ended_at=at(3),
    )


def message(conversation_id: str, seq: int, **changes: object) -> MessagePosted:
    base = MessagePosted(
        conversation_id=ConversationId(conversation_id),
        seq=seq,
        pos=seq,
        created_at=at(seq),
        id=EventId(f"e-{conversation_id}-{seq}"),
        sender=Participant(kind=ParticipantKind.VISITOR, name="Ann", id=VISITOR),
        text=f"message {seq}",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def agent(agent_id: AgentId, **changes: object) -> Agent:
    name = agent_id.removeprefix("a-")
    base = Agent(
        id=agent_id,
        tenant_id=TENANT,
        address=f"{name}@example.org",
        name=name,
        max_chats=2,
        queues=(SUPPORT,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def add_conversations(uow_factory: UnitOfWorkFactory, *conversations: Conversation) -> None:
    async with uow_factory() as uow:
        for conv in conversations:
            await uow.conversations.add(conv)
        await uow.commit()


async def add_events(uow_factory: UnitOfWorkFactory, *events: ConversationEvent) -> None:
    async with uow_factory() as uow:
        for event in events:
            await uow.events.add(event)
        await uow.commit()


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
    full = full_conversation()
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


# -- events -----------------------------------------------------------------------------


def every_event_type(conversation_id: str) -> list[ConversationEvent]:
    cid = ConversationId(conversation_id)
    visitor = Participant(kind=ParticipantKind.VISITOR, name="Ann", id=VISITOR)
    agent_p = Participant(kind=ParticipantKind.AGENT, name="Alice", id=ALICE)
    bot = Participant(kind=ParticipantKind.BOT, name="Helper")
    return [
        StateChanged(
            conversation_id=cid,
            seq=1,
            pos=1,
            created_at=at(1),
            state=ConversationState.QUEUED,
            queue_position=2,
        ),
        message(
            conversation_id,
            2,
            client_msg_id="m-1",
            attachments=("https://files.example/a.png", "b"),
        ),
        ParticipantJoined(conversation_id=cid, seq=3, pos=3, created_at=at(3), participant=agent_p),
        StateChanged(
            conversation_id=cid, seq=4, pos=4, created_at=at(4), state=ConversationState.ACTIVE
        ),
        message(conversation_id, 5, sender=agent_p, text="Hi! ✓ <b>not html</b>"),
        message(conversation_id, 6, sender=bot, text="automatic"),
        ReadMarked(conversation_id=cid, seq=7, pos=7, created_at=at(7), by=visitor, up_to_seq=6),
        ParticipantLeft(conversation_id=cid, seq=8, pos=8, created_at=at(8), participant=visitor),
        StateChanged(
            conversation_id=cid, seq=9, pos=9, created_at=at(9), state=ConversationState.ENDED
        ),
    ]


async def test_every_event_type_round_trips_in_seq_order(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"), conversation("c-2"))
    events = every_event_type("c-1")
    # Stored out of order, and interleaved with another conversation's events.
    await add_events(uow_factory, *reversed(events), message("c-2", 1), message("c-2", 2))
    async with uow_factory() as uow:
        found = await uow.events.list_after(ConversationId("c-1"), 0, 100)
        assert list(found) == events
        for event in found:
            assert_utc(event.created_at)
        assert list(await uow.events.list_after(ConversationId("c-1"), 3, 2)) == events[3:5]
        assert list(await uow.events.list_after(ConversationId("c-1"), 9, 10)) == []
        assert list(await uow.events.list_after(ConversationId("c-1"), 0, 0)) == []
        assert list(await uow.events.list_after(ConversationId("nobody"), 0, 10)) == []


async def test_get_message_by_client_id(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"), conversation("c-2"))
    stored = message("c-1", 1, client_msg_id="m-1")
    await add_events(uow_factory, stored, message("c-1", 2), message("c-2", 1, client_msg_id="m-2"))
    async with uow_factory() as uow:
        assert await uow.events.get_message_by_client_id(ConversationId("c-1"), "m-1") == stored
        # client ids are per conversation.
        assert await uow.events.get_message_by_client_id(ConversationId("c-1"), "m-2") is None
        assert await uow.events.get_message_by_client_id(ConversationId("c-2"), "m-1") is None


async def test_count_messages_after_excludes_a_sender_kind_and_other_events(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    await add_events(uow_factory, *every_event_type("c-1"))
    async with uow_factory() as uow:
        cid = ConversationId("c-1")
        visitor = ParticipantKind.VISITOR.value
        # Messages at seq 2 (visitor), 5 (agent) and 6 (bot).
        assert await uow.events.count_messages_after(cid, 0, visitor) == 2
        assert await uow.events.count_messages_after(cid, 5, visitor) == 1
        assert await uow.events.count_messages_after(cid, 6, visitor) == 0
        assert await uow.events.count_messages_after(cid, 0, ParticipantKind.AGENT.value) == 2
        assert await uow.events.count_messages_after(ConversationId("nobody"), 0, visitor) == 0


async def test_duplicate_seq_is_rejected_and_nothing_is_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    original = message("c-1", 1, client_msg_id="m-1")
    await add_events(uow_factory, original)
    async with uow_factory() as uow:
        # Another writer took the seq: the use case decides again (see the port).
        with pytest.raises(Conflict):
            await written(
                uow, uow.events.add(message("c-1", 1, client_msg_id="m-other", text="second"))
            )
    async with uow_factory() as uow:
        assert list(await uow.events.list_after(ConversationId("c-1"), 0, 10)) == [original]
        assert await uow.events.get_message_by_client_id(ConversationId("c-1"), "m-other") is None


async def test_duplicate_client_msg_id_is_rejected_and_nothing_is_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"), conversation("c-2"))
    original = message("c-1", 1, client_msg_id="m-1")
    # Messages without a client id never collide, and the same id in another
    # conversation is another message.
    others = [message("c-1", 2), message("c-1", 3), message("c-2", 1, client_msg_id="m-1")]
    await add_events(uow_factory, original, *others)
    async with uow_factory() as uow:
        with pytest.raises(Conflict):
            await written(uow, uow.events.add(message("c-1", 4, client_msg_id="m-1", text="retry")))
    async with uow_factory() as uow:
        stored = list(await uow.events.list_after(ConversationId("c-1"), 0, 10))
        assert stored == [original, *others[:2]]


async def test_event_of_unknown_conversation_is_rejected(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    async with uow_factory() as uow:
        with pytest.raises(REJECTED):
            await written(uow, uow.events.add(message("c-nobody", 1)))
    async with uow_factory() as uow:
        assert list(await uow.events.list_after(ConversationId("c-nobody"), 0, 10)) == []


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
