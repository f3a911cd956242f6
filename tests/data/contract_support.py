"""Helpers of the repository contract tests (``test_repository_contract``,
``test_agent_contract``): values, and writes through the port."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from business.conversation import Conversation
from business.errors import AlreadyExists, Conflict
from business.events import (
    ConversationEvent,
    MessagePosted,
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
from business.visit import PageView
from tests.fakes_directory import DuplicateKey

REJECTED = (DuplicateKey, AlreadyExists, Conflict, IntegrityError)
"""How a UNIQUE or foreign-key violation shows: the fake's error, ``AlreadyExists`` or
``Conflict`` where a repository names it (a taken tenant, queue or visitor), or the
database's."""


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
            visit_count=3,
            time_on_site=125,
            pages=(
                PageView(url="https://shop.example/", title=None, at=at(0), seconds=40),
                PageView(url="https://shop.example/cart?x=1", title="Cart — Shop", at=at(1)),
            ),
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
        bot_misses=2,
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
