"""A wired business layer over the fakes, and the invariants every scenario must keep."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence

from business import commands as c
from business.events import ConversationEvent, MessagePosted, StateChanged, TypingChanged
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    Conversation,
    ConversationId,
    ConversationState,
    QueueName,
    VisitorId,
)
from business.ports import UnitOfWork
from business.publishing import EventPublisher
from business.routing import Router
from business.services import AgentService, ChatService, Limits, ensure_tenant
from tests.fakes import FakeClock, FakeStore, FakeUnitOfWork, RecordingNotifier

SALES = QueueName("sales")
ALICE = AgentId("alice@example.com")
BOB = AgentId("bob@example.com")
CAROL = AgentId("carol@example.com")


@dataclasses.dataclass
class Engine:
    store: FakeStore
    clock: FakeClock
    notifier: RecordingNotifier
    router: Router
    chat: ChatService
    agents: AgentService

    # -- set-up shortcuts ----------------------------------------------------------

    async def visitor(self) -> VisitorId:
        session = await self.chat.open_session(c.OpenSession(tenant_id=DEFAULT_TENANT))
        return session.visitor.id

    async def start(
        self,
        visitor_id: VisitorId,
        *,
        queue: QueueName | None = None,
        text: str | None = None,
        client_msg_id: str = "first",
        form: dict[str, str] | None = None,
    ) -> Conversation:
        message = None if text is None else c.FirstMessage(client_msg_id=client_msg_id, text=text)
        return await self.chat.start_conversation(
            c.StartConversation(
                visitor_id=visitor_id, queue=queue, form=form or {}, message=message
            )
        )

    async def say(self, conv: Conversation, text: str, client_msg_id: str) -> MessagePosted:
        return await self.chat.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=conv.visitor_id,
                conversation_id=conv.id,
                client_msg_id=client_msg_id,
                text=text,
            )
        )

    async def agent(
        self,
        agent_id: AgentId,
        *,
        queues: Sequence[QueueName] = (DEFAULT_QUEUE,),
        max_chats: int = 2,
        ready: bool = True,
        name: str | None = None,
    ) -> None:
        await self.agents.add_agent(
            c.AddAgent(
                agent_id=agent_id,
                queues=tuple(queues),
                max_chats=max_chats,
                tenant_id=DEFAULT_TENANT,
                name=name,
            )
        )
        if ready:
            await self.agents.set_availability(
                c.SetAgentAvailability(agent_id=agent_id, ready=True)
            )

    async def agent_says(
        self, agent_id: AgentId, conv_id: ConversationId, text: str, stanza_id: str | None = None
    ) -> MessagePosted:
        return await self.chat.send_agent_message(
            c.SendAgentMessage(
                agent_id=agent_id, conversation_id=conv_id, text=text, client_msg_id=stanza_id
            )
        )

    # -- reading what happened -----------------------------------------------------

    def conv(self, conv_id: ConversationId) -> Conversation:
        return self.store.conversations[conv_id]

    def stored(self, conv_id: ConversationId) -> list[ConversationEvent]:
        return list(self.store.events.get(conv_id, []))

    def published(self, conv_id: ConversationId | None = None) -> list[ConversationEvent]:
        """Stored-kind events handed to the notifiers, in publishing order."""
        return [
            e
            for e in self.notifier.events()
            if not isinstance(e, TypingChanged)
            and (conv_id is None or e.conversation_id == conv_id)
        ]

    def positions(self, conv_id: ConversationId) -> list[int | None]:
        """Every queue position the visitor was shown, in order."""
        return [
            e.queue_position
            for e in self.stored(conv_id)
            if isinstance(e, StateChanged) and e.state is ConversationState.QUEUED
        ]


async def make_engine(
    *,
    store: FakeStore | None = None,
    uow: Callable[[], UnitOfWork] | None = None,
    limits: Limits | None = None,
    queues: Sequence[QueueName] = (DEFAULT_QUEUE, SALES),
) -> Engine:
    store = store if store is not None else FakeStore()
    factory: Callable[[], UnitOfWork] = uow or (lambda: FakeUnitOfWork(store))
    clock = FakeClock()
    notifier = RecordingNotifier()
    publisher = EventPublisher()
    publisher.subscribe(notifier)
    router = Router(uow=factory, clock=clock, publisher=publisher)
    chat = ChatService(uow=factory, publisher=publisher, router=router, clock=clock, limits=limits)
    agents = AgentService(uow=factory, router=router, clock=clock)
    await ensure_tenant(factory, DEFAULT_TENANT, name="Default", queues=queues, clock=clock)
    return Engine(
        store=store, clock=clock, notifier=notifier, router=router, chat=chat, agents=agents
    )


def assert_store_consistent(store: FakeStore) -> None:
    """The delivery guarantees, read from what is committed.

    Per conversation: seqs are exactly 1..last_seq; a client_msg_id is stored once; the
    read and delivery cursors never pass last_seq; an active conversation has an agent.
    Across conversations: no agent holds more active chats than their capacity.
    """
    for conv in store.conversations.values():
        events = store.events.get(conv.id, [])
        assert [e.seq for e in events] == list(range(1, conv.last_seq + 1)), conv.id
        ids = [e.client_msg_id for e in events if isinstance(e, MessagePosted) and e.client_msg_id]
        assert len(ids) == len(set(ids)), f"duplicate client_msg_id in {conv.id}: {ids}"
        assert 0 <= conv.visitor_read_seq <= conv.last_seq
        assert 0 <= conv.agent_delivered_seq <= conv.last_seq
        if conv.state is ConversationState.ACTIVE:
            assert conv.agent_id is not None
        if conv.state is not ConversationState.QUEUED:
            assert conv.queue_position is None
    active = Counter(
        conv.agent_id
        for conv in store.conversations.values()
        if conv.state is ConversationState.ACTIVE
    )
    for agent_id, count in active.items():
        assert agent_id is not None
        assert count <= store.agents[agent_id].max_chats, agent_id


def assert_published_once(engine: Engine) -> None:
    """Every stored event reached the notifiers exactly once, and nothing else did."""
    stored = sorted(
        (e.conversation_id, e.seq) for events in engine.store.events.values() for e in events
    )
    published = sorted((e.conversation_id, e.seq) for e in engine.published())
    assert published == stored
