"""Random interleavings of everything visitors and agents do keep the delivery promises.

Each example runs batches of operations; the operations of one batch run concurrently over
the row-locking fake, so they interleave at every repository call, as on a real database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings, strategies as st

from business import commands as c
from business.conversation import Conversation
from business.errors import DomainError
from business.events import MessagePosted
from business.model import (
    DEFAULT_QUEUE,
    AgentId,
    ConversationId,
    ParticipantKind,
    VisitorId,
)
from tests.business.locking import LockingDatabase
from tests.fakes_directory import DuplicateKey
from tests.harness import (
    ALICE,
    BOB,
    SALES,
    World,
    assert_published_once,
    assert_store_consistent,
    make_world,
)

AGENTS = (ALICE, BOB)
QUEUES = (DEFAULT_QUEUE, SALES)
KINDS = (
    "start",
    "say",
    "say",
    "agent_say",
    "agent_say",
    "read",
    "sync",
    "end_by_visitor",
    "end_by_agent",
    "availability",
    "deliver",
)


@dataclass(frozen=True)
class Op:
    kind: str
    who: int
    which: int
    arg: int


ops = st.builds(
    Op,
    kind=st.sampled_from(KINDS),
    who=st.integers(0, 2),
    which=st.integers(0, 3),
    arg=st.integers(0, 6),
)
batches = st.lists(st.lists(ops, min_size=1, max_size=4), min_size=1, max_size=10)


class Scenario:
    def __init__(self, engine: World, visitors: Sequence[VisitorId]) -> None:
        self.engine = engine
        self.visitors = visitors
        self.acks: dict[tuple[ConversationId, str], MessagePosted] = {}

    def conversations(self, visitor: VisitorId | None = None) -> list[Conversation]:
        found = [
            conv
            for conv in self.engine.fakes.conversations.values()
            if visitor is None or conv.visitor_id == visitor
        ]
        return sorted(found, key=lambda conv: (conv.created_at, conv.id))

    def pick(self, convs: list[Conversation], which: int) -> Conversation | None:
        return convs[which % len(convs)] if convs else None

    def remember(self, conv_id: ConversationId, ack: MessagePosted) -> None:
        assert ack.client_msg_id is not None
        first = self.acks.setdefault((conv_id, ack.client_msg_id), ack)
        assert ack == first, "a retry must be acked exactly as the first send"

    async def run(self, op: Op) -> None:
        try:
            await self._run(op)
        except DuplicateKey:
            raise  # a database would refuse this write: the business layer raced itself
        except DomainError:
            pass  # refusing (ended, not yours, out of range) is a fine answer

    async def _run(self, op: Op) -> None:
        engine = self.engine
        visitor = self.visitors[op.who % len(self.visitors)]
        agent = AGENTS[op.who % len(AGENTS)]
        mine = self.pick(self.conversations(visitor), op.which)
        anyone = self.pick(self.conversations(), op.which)
        client_msg_id = str(op.arg)
        match op.kind:
            case "start":
                conv = await self.engine.start(
                    visitor,
                    queue=QUEUES[op.which % 2],
                    text=f"hello {op.arg}",
                    client_msg_id=client_msg_id,
                )
                stored = [
                    e
                    for e in self.engine.stored(conv.id)
                    if isinstance(e, MessagePosted) and e.client_msg_id == client_msg_id
                ]
                assert len(stored) <= 1
            case "say" if mine is not None:
                ack = await self.engine.say(mine, f"text {op.arg}", client_msg_id)
                assert ack.sender.kind is ParticipantKind.VISITOR
                self.remember(mine.id, ack)
            case "agent_say" if anyone is not None and anyone.agent_id is not None:
                stanza_id = None if op.arg == 0 else client_msg_id
                ack = await self.engine.agent_says(
                    AgentId(anyone.agent_id), anyone.id, f"reply {op.arg}", stanza_id
                )
                assert ack.sender.kind is ParticipantKind.AGENT
                if ack.client_msg_id is not None:
                    self.remember(anyone.id, ack)
            case "read" if mine is not None:
                await engine.messaging.mark_visitor_read(
                    c.MarkVisitorRead(
                        visitor_id=visitor,
                        conversation_id=mine.id,
                        seq=min(op.arg, mine.last_seq),
                    )
                )
            case "sync" if mine is not None:
                result = await engine.history.sync(
                    c.SyncEvents(visitor_id=visitor, conversation_id=mine.id, after_seq=op.arg)
                )
                seqs = [e.seq for e in result.events]
                assert seqs == list(range(op.arg + 1, op.arg + 1 + len(seqs)))
            case "end_by_visitor" if mine is not None:
                await engine.conversations.end_by_visitor(
                    c.EndConversationByVisitor(visitor_id=visitor, conversation_id=mine.id)
                )
            case "end_by_agent" if anyone is not None and anyone.agent_id is not None:
                await engine.conversations.end_by_agent(
                    c.EndConversationByAgent(
                        agent_id=AgentId(anyone.agent_id), conversation_id=anyone.id
                    )
                )
            case "availability":
                await self.engine.agents.set_availability(
                    c.SetAgentAvailability(agent_id=agent, ready=op.arg % 3 != 0)
                )
            case "deliver" if anyone is not None:
                await engine.delivery.mark_delivered_to_agent(anyone.id, op.arg)
            case _:
                pass

    def check(self) -> None:
        store = self.engine.fakes
        assert_store_consistent(store)
        assert_published_once(self.engine)
        for (conv_id, client_msg_id), ack in self.acks.items():
            stored = [
                e
                for e in store.events[conv_id]
                if isinstance(e, MessagePosted) and e.client_msg_id == client_msg_id
            ]
            assert stored == [ack], "an acked message must be stored, once, as acked"
        open_per_queue = [
            (conv.visitor_id, conv.queue) for conv in self.conversations() if conv.is_open
        ]
        assert len(open_per_queue) == len(set(open_per_queue)), "one open chat per queue"


async def scenario(plan: list[list[Op]]) -> None:
    db = LockingDatabase()
    engine = await make_world(store=db.store, uow=db.uow)
    await engine.agent(ALICE, queues=QUEUES, max_chats=2)
    await engine.agent(BOB, queues=[DEFAULT_QUEUE], max_chats=1)
    world = Scenario(engine, [await engine.visitor() for _ in range(3)])
    for batch in plan:
        await asyncio.gather(*(world.run(op) for op in batch))
        engine.advance(1)
        world.check()
    assert not any(lock.locked() for lock in db.row_locks.values()), "a row lock leaked"


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(plan=batches)
def test_any_interleaving_keeps_seq_gap_free_and_messages_stored_once(
    plan: list[list[Op]],
) -> None:
    asyncio.run(scenario(plan))
