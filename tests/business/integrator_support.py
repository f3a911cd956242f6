"""What the integrator use-case tests share: a world with a second tenant, and shortcuts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from business import commands as c
from business.conversation import Conversation
from business.events import ConversationEvent, StoredEvent
from business.integrator_commands import (
    EndByIntegrator,
    PostIntegratorMessage,
    TransferByIntegrator,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    Participant,
    ParticipantKind,
    QueueName,
    TenantId,
)
from tests.conftest import BACKENDS, open_database
from tests.harness import (
    ALICE,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

GLOBEX = TenantId("globex")
"""Another tenant: nothing of it may ever show through the default tenant's calls."""
HELPER = Participant(kind=ParticipantKind.BOT, name="Helper", id="bot-1")
ADDRESSES = {ALICE: "alice@example.com", AgentId("bob@example.com"): "bob@example.com"}


async def _world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    if backend == "fake":
        world = await make_world(tenants={GLOBEX: "Globex"}, agent_addresses=ADDRESSES)
        yield world
        assert_store_consistent(world.fakes)
        assert_published_once(world)
        return
    async with open_database(backend, tmp_path) as db:
        yield await make_world(
            uow=db.unit_of_work, tenants={GLOBEX: "Globex"}, agent_addresses=ADDRESSES
        )


@pytest.fixture
async def fake_world(tmp_path: Path) -> AsyncIterator[World]:
    """On the fakes, with the store's invariants checked after the test."""
    async for world in _world("fake", tmp_path):
        yield world


@pytest.fixture(params=[pytest.param("fake", id="fake"), *BACKENDS])
async def any_world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """On the fakes (invariants checked after the test), SQLite and PostgreSQL."""
    async for world in _world(request.param, tmp_path):
        yield world


async def chat_with_alice(world: World, text: str = "hello") -> Conversation:
    if await world.agents.get_agent(ALICE) is None:
        await world.agent(ALICE, name="Alice", max_chats=5)
    conv = await world.start(await world.visitor(), text=text)
    conv = await world.conversations.get_conversation(conv.id)
    assert conv.agent_id == ALICE
    return conv


async def globex_chat(world: World) -> Conversation:
    """A waiting conversation of the other tenant."""
    visitor = await world.visitor(GLOBEX)
    return await world.conversations.start_conversation(
        c.StartConversation(visitor_id=visitor, queue=DEFAULT_QUEUE)
    )


def post(
    conv: Conversation,
    text: str,
    client_msg_id: str,
    *,
    sender: Participant = HELPER,
    tenant_id: TenantId | None = None,
) -> PostIntegratorMessage:
    """``text`` into ``conv`` as ``sender``, asked by ``conv``'s tenant unless told."""
    return PostIntegratorMessage(
        tenant_id=tenant_id or conv.tenant_id,
        conversation_id=conv.id,
        sender=sender,
        client_msg_id=client_msg_id,
        text=text,
    )


# -- ending, transferring and reading back ---------------------------------------------


async def end(world: World, conv: Conversation, reason: str | None = None) -> Conversation:
    return await world.services.integrator_control.end(
        EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conv.id, reason=reason)
    )


async def transfer(
    world: World,
    conv: Conversation,
    *,
    queue: QueueName | None = None,
    agent: str | None = None,
    note: str | None = None,
) -> Conversation:
    return await world.services.integrator_control.transfer(
        TransferByIntegrator(
            tenant_id=DEFAULT_TENANT,
            conversation_id=conv.id,
            actor=HELPER,
            queue=queue,
            agent_address=agent,
            note=note,
        )
    )


async def now(world: World, cid: ConversationId) -> Conversation:
    return await world.conversations.get_conversation(cid)


async def stored(world: World, cid: ConversationId) -> list[StoredEvent]:
    return list(await world.history.history(cid))


async def synced(world: World, conv: Conversation) -> list[ConversationEvent]:
    result = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    return list(result.events)


def after(events: list[ConversationEvent], conv: Conversation) -> list[ConversationEvent]:
    return [e for e in events if e.seq > conv.last_seq]


async def waiting(world: World, queue: QueueName) -> int:
    [found] = [q for q in await world.tenants.list_queues(DEFAULT_TENANT) if q.name == queue]
    return found.waiting
