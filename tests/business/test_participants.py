"""Several agents in one chat (AGENT-DESK.md: ``!transfer``, ``!invite``, ``!consult``,
``!leave``), on the fakes, SQLite and PostgreSQL.

What the visitor sees is checked both live (what was published, filtered as the
presentation does) and by ``sync`` from 0: a transfer is one ``participant.left`` and one
``participant.joined``; an invited agent joins and leaves visibly; a consultant, offers
and what a consultant writes never reach the visitor nor take a ``seq``.
"""

from __future__ import annotations

import pytest

from business import commands as c
from business.conversation import Conversation
from business.errors import Forbidden, InvalidTransition, NotFound
from business.events import (
    ConversationEvent,
    DeskMessage,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    OfferClosed,
    OfferOutcome,
    ParticipantJoined,
    ParticipantLeft,
    StateChanged,
    StoredEvent,
    Transferred,
    is_visible,
)
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    AgentId,
    ConversationId,
    ConversationState,
    MemberRole,
    OfferKind,
)
from business.ports import UnitOfWorkFactory
from tests.harness import ALICE, BOB, SALES, World, make_world

CAROL = AgentId("carol@example.com")
ADDRESSES = {ALICE: "alice@example.com", BOB: "bob@example.com", CAROL: "carol@example.com"}


@pytest.fixture
async def desk(uow_factory: UnitOfWorkFactory) -> World:
    """Alice has a chat; Bob is ready in the same queue, Carol in sales."""
    world = await make_world(uow=uow_factory, agent_addresses=ADDRESSES)
    await world.agent(ALICE, name="Alice", max_chats=2)
    return world


async def chat_with_alice(world: World) -> Conversation:
    conv = await world.start(await world.visitor(), text="hello")
    conv = await world.conversations.get_conversation(conv.id)
    assert conv.agent_id == ALICE
    await world.agent(BOB, name="Bob", max_chats=2, auto_accept=False)
    return conv


async def offer(
    world: World, conv: Conversation, kind: OfferKind, target: str, note: str | None = None
) -> Conversation:
    return await world.services.participants.offer(
        c.OfferToColleague(
            agent_id=ALICE, conversation_id=conv.id, kind=kind, target=target, note=note
        )
    )


async def now(world: World, cid: ConversationId) -> Conversation:
    return await world.conversations.get_conversation(cid)


async def stored(world: World, cid: ConversationId) -> list[StoredEvent]:
    return list(await world.history.history(cid))


def live_for_visitor(world: World, cid: ConversationId) -> list[ConversationEvent]:
    return [e for e in world.published(cid) if is_visible(e)]  # type: ignore[misc]


async def synced(world: World, conv: Conversation) -> list[ConversationEvent]:
    result = await world.history.sync(
        c.SyncEvents(visitor_id=conv.visitor_id, conversation_id=conv.id, after_seq=0)
    )
    return list(result.events)


async def assert_visitor_stream(world: World, conv: Conversation) -> list[ConversationEvent]:
    """Live and synced agree, seqs are 1..n, and nothing only agents see is in it."""
    live = live_for_visitor(world, conv.id)
    sync = await synced(world, conv)
    assert [e.seq for e in sync] == list(range(1, len(sync) + 1))
    assert [(type(e), e.seq) for e in live] == [(type(e), e.seq) for e in sync]
    return sync


def kinds(events: list[ConversationEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


async def test_a_transfer_to_an_agent_is_one_left_and_one_joined_for_the_visitor(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent_says(ALICE, conv.id, "let me get a colleague")
    before = len(await synced(desk, conv))

    offered = await offer(desk, conv, OfferKind.TRANSFER, "bob@example.com", "refund question")

    assert offered.offered_to == BOB
    assert offered.offer_kind is OfferKind.TRANSFER
    assert offered.agent_id == ALICE
    assert [(m.agent_id, m.role) for m in offered.members] == [(BOB, MemberRole.OFFERED)]
    assert len(await synced(desk, conv)) == before  # the offer is not the visitor's

    await desk.agent_says(BOB, conv.id, "Hi, Bob here")

    after = await now(desk, conv.id)
    assert after.agent_id == BOB
    assert after.agent_name == "Bob"
    assert after.members == ()
    assert after.offered_to is None
    stream = await assert_visitor_stream(desk, conv)
    assert kinds(stream[before:]) == ["ParticipantLeft", "ParticipantJoined", "MessagePosted"]
    left, joined, said = stream[before:]
    assert isinstance(left, ParticipantLeft)
    assert left.participant.id == ALICE
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant.id == BOB
    assert isinstance(said, MessagePosted)
    assert said.sender.id == BOB
    # The roles are stored with the visible joins and leaves (for history and reports).
    assert (left.role, joined.role) == ("owner", "owner")
    [moved] = [e for e in await stored(desk, conv.id) if isinstance(e, Transferred)]
    assert moved.by.id == ALICE
    assert moved.to is not None
    assert moved.to.id == BOB
    assert moved.note == "refund question"
    # Alice is out: she can no longer write to the visitor.
    with pytest.raises(Forbidden):
        await desk.agent_says(ALICE, conv.id, "still here?")


async def test_the_old_agent_is_delivered_up_to_the_transfer_and_the_new_from_the_offer(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    offered = await offer(desk, conv, OfferKind.TRANSFER, "bob@example.com")
    await desk.visitor_says(conv.visitor_id, conv.id, "are you there?")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    after = await now(desk, conv.id)

    pending = {
        d.agent_id: [e.pos for e in d.events]
        for d in await desk.delivery.pending_agent_deliveries()
        if d.conversation.id == conv.id
    }
    transfer_pos = max(e.pos for e in await stored(desk, conv.id) if isinstance(e, Transferred))
    # Alice (delivered nothing yet in this test) gets everything from her offer up to
    # the transfer, Bob everything from his offer on, as the chat's agent now.
    assert pending[ALICE] == list(range(conv.agent_delivered_pos + 1, transfer_pos + 1))
    assert pending[None] == list(range(offered.last_pos, after.last_pos + 1))

    # A cursor of Alice's written after the transfer moves her own row, not Bob's.
    await desk.delivery.mark_delivered({(conv.id, ALICE): transfer_pos})
    assert (await now(desk, conv.id)).agent_delivered_pos == offered.last_pos - 1
    remaining = [d for d in await desk.delivery.pending_agent_deliveries() if d.agent_id]
    assert remaining == []


async def test_a_replay_leaves_out_unread_what_its_caller_sent_already(desk: World) -> None:
    # The XMPP bridge's periodic replay passes what its link session sent (its cursors
    # not stored yet): those deliveries are not read again, the others are.
    conv = await chat_with_alice(desk)
    await offer(desk, conv, OfferKind.TRANSFER, "bob@example.com")
    await desk.visitor_says(conv.visitor_id, conv.id, "are you there?")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    after = await now(desk, conv.id)
    transfer_pos = max(e.pos for e in await stored(desk, conv.id) if isinstance(e, Transferred))

    async def who(sent: dict[AgentId, int]) -> set[AgentId | None]:
        deliveries = await desk.delivery.pending_agent_deliveries(
            sent_up_to=lambda cid, agent: sent.get(agent, 0) if cid == conv.id else 0
        )
        return {d.agent_id for d in deliveries if d.conversation.id == conv.id}

    assert await who({}) == {ALICE, None}
    # Bob, the chat's agent now, was sent everything; Alice all but her last event.
    assert await who({BOB: after.last_pos, ALICE: transfer_pos - 1}) == {ALICE}
    # Alice was sent everything up to her leaving, Bob not the newest event.
    assert await who({BOB: after.last_pos - 1, ALICE: transfer_pos}) == {None}
    assert await who({BOB: after.last_pos, ALICE: transfer_pos}) == set()


async def test_a_declined_or_unanswered_transfer_leaves_the_chat_with_its_agent(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    await offer(desk, conv, OfferKind.TRANSFER, "bob@example.com")
    with pytest.raises(InvalidTransition, match="already have"):
        await desk.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=conv.id))
    await desk.services.offers.decline(c.DeclineOffer(agent_id=BOB, conversation_id=conv.id))
    after = await now(desk, conv.id)
    assert (after.agent_id, after.offered_to, after.members) == (ALICE, None, ())

    await offer(desk, conv, OfferKind.TRANSFER, "bob@example.com")
    desk.advance(21)
    assert await desk.services.offers.expire_due() == 1
    after = await now(desk, conv.id)
    assert (after.agent_id, after.offered_to, after.members) == (ALICE, None, ())
    bob = await desk.agents.get_agent(BOB)
    assert bob is not None
    assert bob.ready  # a colleague's offer left unanswered does not make Bob not ready
    outcomes = [
        (e.kind, e.outcome) for e in await stored(desk, conv.id) if isinstance(e, OfferClosed)
    ]
    assert outcomes[-2:] == [
        (OfferKind.TRANSFER, OfferOutcome.DECLINED),
        (OfferKind.TRANSFER, OfferOutcome.TIMED_OUT),
    ]
    await assert_visitor_stream(desk, conv)


async def test_a_transfer_to_a_queue_goes_to_the_next_agent_there_never_back(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(ALICE, name="Alice", queues=(DEFAULT_QUEUE, SALES))
    before = len(await synced(desk, conv))

    moved = await offer(desk, conv, OfferKind.TRANSFER, "sales", "wants a quote")

    assert moved.state is ConversationState.QUEUED
    assert moved.queue == SALES
    assert moved.agent_id is None
    assert moved.last_offered_to == ALICE
    assert moved.offered_to is None  # Alice is in sales and ready, but not offered it back
    await desk.agent(CAROL, name="Carol", queues=(SALES,))
    after = await now(desk, conv.id)
    assert (after.state, after.agent_id) == (ConversationState.ACTIVE, CAROL)
    stream = await assert_visitor_stream(desk, conv)
    assert kinds(stream[before:]) == [
        "ParticipantLeft",
        "StateChanged",
        "ParticipantJoined",
        "StateChanged",
    ]


async def test_an_invited_agent_joins_visibly_talks_to_the_visitor_and_leaves(
    desk: World,
) -> None:
    conv = await chat_with_alice(desk)
    before = len(await synced(desk, conv))
    await offer(desk, conv, OfferKind.INVITE, "bob@example.com", "can you help?")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))

    joined = await now(desk, conv.id)
    assert joined.agent_id == ALICE
    assert [(m.agent_id, m.role) for m in joined.members] == [(BOB, MemberRole.INVITED)]
    said = await desk.agent_says(BOB, conv.id, "Bob from billing here")
    assert said.sender.id == BOB
    await desk.agent_says(ALICE, conv.id, "thanks Bob")
    await desk.services.participants.leave(
        c.LeaveConversation(agent_id=BOB, conversation_id=conv.id)
    )

    left = await now(desk, conv.id)
    assert left.members == ()
    assert left.agent_id == ALICE
    stream = await assert_visitor_stream(desk, conv)
    assert kinds(stream[before:]) == [
        "ParticipantJoined",
        "MessagePosted",
        "MessagePosted",
        "ParticipantLeft",
    ]
    joined_bob, *_, left_bob = stream[before:]
    assert isinstance(joined_bob, ParticipantJoined)
    assert isinstance(left_bob, ParticipantLeft)
    assert (joined_bob.role, left_bob.role) == ("invited", "invited")
    with pytest.raises(Forbidden):
        await desk.agent_says(BOB, conv.id, "one more thing")


async def test_a_consultant_is_never_seen_by_the_visitor(desk: World) -> None:
    conv = await chat_with_alice(desk)
    before = await synced(desk, conv)
    await offer(desk, conv, OfferKind.CONSULT, "bob@example.com", "is this a known bug?")
    # Taking the consult by writing: the text reaches the agents only.
    answer = await desk.agent_writes(BOB, conv.id, "yes, ticket 42")
    assert isinstance(answer, DeskMessage)
    again = await desk.agent_writes(BOB, conv.id, "it is fixed in 2.1", stanza_id="b-1")
    retried = await desk.agent_writes(BOB, conv.id, "it is fixed in 2.1", stanza_id="b-1")
    assert retried == again
    with pytest.raises(InvalidTransition, match="!transfer or !end"):
        await desk.services.participants.leave(
            c.LeaveConversation(agent_id=ALICE, conversation_id=conv.id)
        )
    await desk.services.participants.leave(
        c.LeaveConversation(agent_id=BOB, conversation_id=conv.id)
    )

    events = await stored(desk, conv.id)
    assert [type(e) for e in events if isinstance(e, MemberJoined | MemberLeft)] == [
        MemberJoined,
        MemberLeft,
    ]
    assert len([e for e in events if isinstance(e, DeskMessage)]) == 2
    stream = await assert_visitor_stream(desk, conv)
    assert stream == before  # nothing at all
    assert not [e for e in live_for_visitor(desk, conv.id) if e.seq > len(before)]


async def test_refusals_say_why(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(CAROL, name="Carol", queues=(SALES,), ready=False)

    def by(
        agent_id: AgentId, target: str, kind: OfferKind = OfferKind.TRANSFER
    ) -> c.OfferToColleague:
        return c.OfferToColleague(
            agent_id=agent_id, conversation_id=conv.id, kind=kind, target=target
        )

    participants = desk.services.participants
    with pytest.raises(Forbidden, match="only the agent who has the chat"):
        await participants.offer(by(BOB, "carol@example.com"))
    with pytest.raises(NotFound, match=r"nobody@example\.com"):
        await participants.offer(by(ALICE, "nobody@example.com"))
    with pytest.raises(NotFound, match="no agent or queue is called nowhere"):
        await participants.offer(by(ALICE, "nowhere"))
    with pytest.raises(InvalidTransition, match="not ready"):
        await participants.offer(by(ALICE, "carol@example.com", OfferKind.INVITE))
    with pytest.raises(InvalidTransition, match="nobody in queue sales"):
        await participants.offer(by(ALICE, "sales", OfferKind.INVITE))
    with pytest.raises(InvalidTransition, match="already"):
        await participants.offer(by(ALICE, "alice@example.com"))
    await participants.offer(by(ALICE, "bob@example.com", OfferKind.INVITE))
    with pytest.raises(InvalidTransition, match=r"offered to Bob now \(20 s left\)"):
        await participants.offer(by(ALICE, "carol@example.com", OfferKind.CONSULT))
    with pytest.raises(InvalidTransition, match="!decline"):
        await participants.leave(c.LeaveConversation(agent_id=BOB, conversation_id=conv.id))
    with pytest.raises(Forbidden, match="not in this chat"):
        await participants.leave(c.LeaveConversation(agent_id=CAROL, conversation_id=conv.id))


async def test_an_invitation_needs_a_free_place_and_counts_against_it(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(BOB, name="Bob", max_chats=1, auto_accept=False)
    await offer(desk, conv, OfferKind.INVITE, "bob@example.com")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    # Bob's only place is the conference: a new chat waits rather than go to him.
    other = await desk.start(await desk.visitor(), text="me too")
    assert (await now(desk, other.id)).offered_to in (None, ALICE)
    second = await desk.start(await desk.visitor(), text="and me")
    assert (await now(desk, second.id)).offered_to != BOB


async def test_ending_the_chat_lets_every_member_go(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await offer(desk, conv, OfferKind.CONSULT, "bob@example.com")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    await desk.conversations.end_by_agent(
        c.EndConversationByAgent(agent_id=ALICE, conversation_id=conv.id)
    )
    ended = await now(desk, conv.id)
    assert ended.members == ()
    assert ended.state is ConversationState.ENDED
    assert isinstance((await stored(desk, conv.id))[-1], MemberLeft)
    stream = await assert_visitor_stream(desk, conv)
    assert isinstance(stream[-1], StateChanged)
    async with desk.services.agent_desk._tx.read() as tx:
        assert await tx.members.list_for_agent(BOB) == []


async def test_a_transfer_to_a_queue_waits_until_the_others_have_left(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await offer(desk, conv, OfferKind.INVITE, "bob@example.com")
    await desk.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=conv.id))
    with pytest.raises(InvalidTransition, match="Bob is in this chat too"):
        await offer(desk, conv, OfferKind.TRANSFER, "support")
    await desk.services.participants.leave(
        c.LeaveConversation(agent_id=BOB, conversation_id=conv.id)
    )
    moved = await offer(desk, conv, OfferKind.TRANSFER, "support")
    # Bob is ready in support: the chat goes to him (Alice never first), once.
    after = await now(desk, conv.id)
    assert moved.members == ()
    assert after.offered_to == BOB or after.agent_id == BOB


async def test_an_invitation_to_somebody_without_a_free_place_is_refused(desk: World) -> None:
    conv = await chat_with_alice(desk)
    await desk.agent(BOB, name="Bob", max_chats=1)  # takes the next chat at once
    other = await desk.start(await desk.visitor(), text="me too")
    # The least busy agent gets it: Bob (no chat) before Alice (one).
    assert (await now(desk, other.id)).agent_id == BOB
    with pytest.raises(InvalidTransition, match=r"no free place \(1 of 1 chats\)"):
        await offer(desk, conv, OfferKind.INVITE, "bob@example.com")
    # A consult needs no place, and an open consult offer takes none either.
    await offer(desk, conv, OfferKind.CONSULT, "bob@example.com")
    async with desk.services.agent_desk._tx.read() as tx:
        loads = await tx.members.count_load(DEFAULT_TENANT, [BOB])
    assert loads.get(BOB, 0) == 0
