"""Supervisors (AGENT-DESK.md): monitor a chat or all of an agent's chats silently,
whisper to the agents, barge in; only in the queues they supervise. On the fakes, SQLite
and PostgreSQL; the visitor's stream is checked live and by ``sync`` from 0."""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition, NotFound
from business.events import (
    ConversationEvent,
    MemberJoined,
    MessagePosted,
    ParticipantJoined,
    StoredEvent,
    Whispered,
    is_visible,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    AgentRole,
    ConversationId,
    MemberRole,
    OfferKind,
)
from business.ports import UnitOfWorkFactory
from tests.harness import ALICE, BOB, SALES, World, make_world

SAM = AgentId("sam")
ADDRESSES = {ALICE: "alice@example.com", BOB: "bob@example.com", SAM: "sam@example.com"}


@pytest.fixture
async def desk(uow_factory: UnitOfWorkFactory) -> World:
    """Alice takes chats in support; Sam supervises support (and takes no chats)."""
    world = await make_world(uow=uow_factory, agent_addresses=ADDRESSES)
    await world.agent(ALICE, name="Alice", max_chats=3)
    await world.agents.add_agent(
        c.AddAgent(
            address=ADDRESSES[SAM],
            agent_id=SAM,
            queues=(SALES,),
            max_chats=1,
            tenant_id=DEFAULT_TENANT,
            name="Sam",
            role=AgentRole.SUPERVISOR,
            supervises=(DEFAULT_QUEUE,),
        )
    )
    return world


async def a_chat(world: World) -> Conversation:
    conv = await world.start(await world.visitor(), text="hello")
    conv = await world.conversations.get_conversation(conv.id)
    assert conv.agent_id == ALICE
    return conv


async def now(world: World, cid: ConversationId) -> Conversation:
    return await world.conversations.get_conversation(cid)


async def stored(world: World, cid: ConversationId) -> list[StoredEvent]:
    return list(await world.history.history(cid))


async def visitor_stream(world: World, conv: Conversation) -> list[ConversationEvent]:
    synced = list(
        (
            await world.history.sync(
                c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
            )
        ).events
    )
    live = [e for e in world.published(conv.id) if is_visible(e)]
    assert [e.seq for e in synced] == list(range(1, len(synced) + 1))
    assert [(type(e), e.seq) for e in live] == [(type(e), e.seq) for e in synced]  # type: ignore[union-attr]
    return synced


def monitor(target: str, *, stop: bool = False) -> c.Monitor:
    return c.Monitor(supervisor_id=SAM, target=target, stop=stop)


async def test_monitoring_a_chat_is_silent_and_whispers_reach_only_the_agents(
    desk: World,
) -> None:
    conv = await a_chat(desk)
    before = await visitor_stream(desk, conv)

    done = await desk.services.supervision.monitor(monitor(conv.id))

    assert done.conversations == [conv.id]
    watched = await now(desk, conv.id)
    assert [(m.agent_id, m.role) for m in watched.members] == [(SAM, MemberRole.MONITOR)]
    # The monitor writes nothing to the visitor; a whisper goes to the agents only.
    with pytest.raises(Forbidden, match="monitoring"):
        await desk.agent_says(SAM, conv.id, "hi")
    said = await desk.services.supervision.whisper(
        c.Whisper(supervisor_id=SAM, conversation_id=conv.id, text="offer the discount")
    )
    assert isinstance(said, Whispered)
    assert await visitor_stream(desk, conv) == before
    events = await stored(desk, conv.id)
    assert [e.role for e in events if isinstance(e, MemberJoined)] == [MemberRole.MONITOR]

    # Delivery to the monitor starts at the beginning of the chat.
    pending = [d for d in await desk.delivery.pending_agent_deliveries() if d.agent_id == SAM]
    assert [e.pos for e in pending[0].events] == list(range(1, watched.last_pos + 2))

    stopped = await desk.services.supervision.monitor(monitor(conv.id, stop=True))
    assert stopped.conversations == [conv.id]
    assert (await now(desk, conv.id)).members == ()


async def test_barging_in_makes_the_supervisor_visible_and_heard(desk: World) -> None:
    conv = await a_chat(desk)
    await desk.services.supervision.monitor(monitor(conv.id))
    before = len(await visitor_stream(desk, conv))

    await desk.services.supervision.barge(c.Barge(supervisor_id=SAM, conversation_id=conv.id))
    said = await desk.agent_says(SAM, conv.id, "Hello, I am Sam, the team lead")

    assert said.sender.id == SAM
    member = (await now(desk, conv.id)).member(SAM)
    assert member is not None
    assert member.role is MemberRole.SUPERVISOR
    stream = await visitor_stream(desk, conv)
    joined, message = stream[before:]
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant.id == SAM
    assert isinstance(message, MessagePosted)
    # Barging in takes no place of Sam's own (capacity 1): a sales chat still reaches him.
    with pytest.raises(InvalidTransition, match="already"):
        await desk.services.supervision.barge(c.Barge(supervisor_id=SAM, conversation_id=conv.id))
    await desk.services.participants.leave(
        c.LeaveConversation(agent_id=SAM, conversation_id=conv.id)
    )
    assert (await now(desk, conv.id)).members == ()


async def test_monitoring_an_agent_covers_their_chats_now_and_later(desk: World) -> None:
    first = await a_chat(desk)

    done = await desk.services.supervision.monitor(monitor("alice@example.com"))

    assert done.conversations == [first.id]
    assert done.agent is not None
    assert done.agent.id == ALICE
    second = await a_chat(desk)
    assert [(m.agent_id, m.role) for m in second.members] == [(SAM, MemberRole.MONITOR)]
    # A chat of a queue Sam does not supervise is not his to watch.
    await desk.agent(ALICE, name="Alice", max_chats=5, queues=(DEFAULT_QUEUE, SALES))
    sales = await desk.start(await desk.visitor(), text="price?", queue=SALES)
    assert (await now(desk, sales.id)).member(SAM) is None

    await desk.services.supervision.monitor(monitor("alice@example.com", stop=True))
    third = await a_chat(desk)
    assert third.members == ()
    assert (await now(desk, first.id)).members == ()


async def test_supervisors_act_only_in_the_queues_they_supervise(desk: World) -> None:
    await desk.agent(ALICE, name="Alice", max_chats=5, queues=(DEFAULT_QUEUE, SALES))
    sales = await desk.start(await desk.visitor(), text="price?", queue=SALES)
    supervision = desk.services.supervision
    with pytest.raises(Forbidden, match="you do not supervise queue sales"):
        await supervision.monitor(monitor(sales.id))
    with pytest.raises(Forbidden, match="you do not supervise queue sales"):
        await supervision.whisper(
            c.Whisper(supervisor_id=SAM, conversation_id=sales.id, text="psst")
        )
    with pytest.raises(Forbidden, match="you do not supervise queue sales"):
        await supervision.barge(c.Barge(supervisor_id=SAM, conversation_id=sales.id))
    with pytest.raises(Forbidden, match="only supervisors"):
        await supervision.monitor(c.Monitor(supervisor_id=ALICE, target=sales.id))
    with pytest.raises(NotFound):
        await supervision.monitor(monitor("nobody@example.com"))
    with pytest.raises(NotFound):
        await supervision.monitor(monitor("0" * 32))


async def test_monitoring_an_agent_follows_offers_declines_and_transfers(desk: World) -> None:
    await desk.agent(ALICE, name="Alice", max_chats=3, auto_accept=False)
    offered = await a_queued_offer(desk)
    # Sam starts monitoring Alice while a chat is only offered to her: it is covered.
    done = await desk.services.supervision.monitor(monitor("alice@example.com"))
    assert done.conversations == [offered.id]
    # Alice passes: Sam stops watching the chat she did not take.
    await desk.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=offered.id))
    assert (await now(desk, offered.id)).member(SAM) is None
    # A chat offered to her and then un-monitored: Sam is gone from it too.
    second = await a_queued_offer(desk)
    assert (await now(desk, second.id)).member(SAM) is not None
    await desk.services.supervision.monitor(monitor("alice@example.com", stop=True))
    assert (await now(desk, second.id)).member(SAM) is None


async def test_a_chat_transferred_to_a_monitored_agent_is_watched(desk: World) -> None:
    conv = await a_chat(desk)
    await desk.agent(BOB, name="Bob", max_chats=2, auto_accept=False)
    await desk.services.supervision.monitor(monitor("bob@example.com"))
    await desk.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE,
            conversation_id=conv.id,
            kind=OfferKind.TRANSFER,
            target="bob@example.com",
        )
    )
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    after = await now(desk, conv.id)
    assert after.agent_id == BOB
    assert [(m.agent_id, m.role) for m in after.members] == [(SAM, MemberRole.MONITOR)]


async def a_queued_offer(world: World) -> Conversation:
    conv = await world.start(await world.visitor(), text="hello")
    conv = await world.conversations.get_conversation(conv.id)
    assert conv.offered_to == ALICE
    return conv
