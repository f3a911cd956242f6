"""The delivery guarantees under concurrency, with the real services on the SQL storage.

Many messages at once on one conversation, with retries racing their originals and an
agent being routed in the middle: every seq from 1 to last_seq exists exactly once, a
retry never makes a second row, and nothing fails with "database is locked".
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Awaitable

from sqlalchemy import text

from business import commands as c
from business.clock import SystemClock
from business.conversation import Conversation
from business.events import MessagePosted, StateChanged
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ConversationState
from data import Database
from tests.harness import World, make_world

MESSAGES = 50
RETRIES = 10
DEADLINE = 120.0
"""Seconds: far above the few the slowest run here takes; a hang fails instead of blocking."""


async def wire(database: Database) -> World:
    return await make_world(uow=database.unit_of_work, clock=SystemClock())


async def add_agent(world: World, jid: str, max_chats: int) -> AgentId:
    agent = await world.agents.add_agent(
        c.AddAgent(
            address=jid,
            queues=(DEFAULT_QUEUE,),
            max_chats=max_chats,
            tenant_id=DEFAULT_TENANT,
            auto_accept=True,
        )
    )
    return agent.id


async def start(world: World, first_message: str | None = None) -> Conversation:
    session = await world.sessions.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
    message = None
    if first_message is not None:
        message = c.FirstMessage(client_msg_id=first_message, text=first_message)
    return await world.conversations.start_conversation(
        c.StartConversation(visitor_id=session.visitor.id, message=message)
    )


async def stored_seqs(database: Database, conversation: Conversation) -> list[int]:
    """Straight from the table, so duplicates could not hide behind a repository (the
    events only agents see have no seq)."""
    async with database.begin() as connection:
        result = await connection.execute(
            text(
                "SELECT seq FROM conversation_events WHERE conversation_id = :c "
                "AND seq IS NOT NULL ORDER BY seq"
            ),
            {"c": conversation.id},
        )
        return [row[0] for row in result]


async def gather_all(*calls: Awaitable[object]) -> list[object]:
    return await asyncio.wait_for(asyncio.gather(*calls), DEADLINE)


async def test_concurrent_messages_and_retries_get_gapless_seqs_and_one_row_each(
    database: Database,
) -> None:
    services = await wire(database)
    alice = await add_agent(services, "alice@example.org", max_chats=5)
    conv = await start(services)
    commands = [
        c.SendVisitorMessage(
            visitor_id=conv.visitor_id,
            conversation_id=conv.id,
            client_msg_id=f"m-{i}",
            text=f"message {i}",
        )
        for i in range(MESSAGES)
    ]
    retries = commands[:RETRIES]
    calls: list[Awaitable[object]] = [
        services.messaging.send_visitor_message(cmd) for cmd in commands
    ]
    calls += [services.messaging.send_visitor_message(cmd) for cmd in retries]
    random.Random(7).shuffle(calls)
    # The agent becomes ready half-way: routing allocates seqs on the same conversation.
    calls.insert(
        len(calls) // 2,
        services.agents.set_availability(c.SetAgentAvailability(agent_id=alice, ready=True)),
    )

    results = await gather_all(*calls)

    by_client_id: dict[str, list[MessagePosted]] = defaultdict(list)
    for result in results:
        if isinstance(result, MessagePosted):
            assert result.client_msg_id is not None
            by_client_id[result.client_msg_id].append(result)
    assert sorted(by_client_id) == sorted(cmd.client_msg_id for cmd in commands)
    for client_msg_id, answers in by_client_id.items():
        # A retry gets the stored message back: same id, same seq.
        assert len({(m.id, m.seq) for m in answers}) == 1, client_msg_id

    final = await services.conversations.get_conversation(conv.id)
    assert final.state is ConversationState.ACTIVE
    assert final.agent_id == alice
    seqs = await stored_seqs(database, final)
    assert seqs == list(range(1, final.last_seq + 1))
    # Queued + the messages + the agent joining and the conversation becoming active.
    assert final.last_seq == 1 + MESSAGES + 2

    sync = await services.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    assert [e.seq for e in sync.events] == seqs
    messages = [e for e in sync.events if isinstance(e, MessagePosted)]
    assert sorted(m.client_msg_id or "" for m in messages) == sorted(by_client_id)
    # A retry publishes nothing: each message went out exactly once.
    published = [e for e in services.recorder.events() if isinstance(e, MessagePosted)]
    assert sorted(m.seq for m in published) == sorted(m.seq for m in messages)


async def test_concurrent_conversations_fill_agents_to_capacity_and_queue_the_rest(
    database: Database,
) -> None:
    services = await wire(database)
    agents = [
        await add_agent(services, "alice@example.org", max_chats=3),
        await add_agent(services, "bob@example.org", max_chats=3),
    ]
    visitors = 20
    calls: list[Awaitable[object]] = [start(services, f"hello-{i}") for i in range(visitors)]
    for position, agent in zip((5, 15), agents, strict=True):
        calls.insert(
            position,
            services.agents.set_availability(c.SetAgentAvailability(agent_id=agent, ready=True)),
        )

    results = await gather_all(*calls)

    conversations = [
        await services.conversations.get_conversation(r.id)
        for r in results
        if isinstance(r, Conversation)
    ]
    assert len(conversations) == visitors
    for conv in conversations:
        assert await stored_seqs(database, conv) == list(range(1, conv.last_seq + 1))
    active = [conv for conv in conversations if conv.state is ConversationState.ACTIVE]
    queued = [conv for conv in conversations if conv.state is ConversationState.QUEUED]
    assert len(active) == 6
    for agent in agents:
        assert sum(conv.agent_id == agent for conv in active) == 3
    # The longest waiting were served first; the rest wait in arrival order.
    assert max(conv.created_at for conv in active) <= min(conv.created_at for conv in queued)
    in_order = sorted(queued, key=lambda conv: (conv.created_at, conv.id))
    assert [conv.queue_position for conv in in_order] == list(range(1, len(queued) + 1))
    # What a visitor was last told about their position is what is stored.
    for conv in queued:
        sync = await services.history.sync(
            c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
        )
        last_state = [e for e in sync.events if isinstance(e, StateChanged)][-1]
        assert last_state.queue_position == conv.queue_position
