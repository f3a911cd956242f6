"""What slice 4 (members, transfer, conference, consult) stores besides member rows: the
conversation's offer and member fields, the new owner's cursor, the new hidden events
and their codecs, and a transfer applied through a transaction; run against the
in-memory fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from business.changes import ChangeBuilder
from business.conversation import Conversation
from business.errors import Conflict
from business.events import (
    DeskMessage,
    MemberJoined,
    MemberLeft,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    StoredEvent,
    Transferred,
)
from business.member_ports import MemberJoin, MemberPromote
from business.model import (
    AgentId,
    ConversationId,
    ConversationState,
    EventId,
    Member,
    MemberRole,
    OfferKind,
    Participant,
    ParticipantKind,
)
from business.publishing import EventPublisher
from business.transactions import Transaction
from data.codecs import decode_event
from tests.data.contract_support import (
    ALICE,
    BOB,
    T0,
    add_conversations,
    at,
    conversation,
    message,
    written,
)
from tests.data.members_support import Store

CAROL = AgentId("a-carol")
C1 = ConversationId("c-1")
ACTIVE = ConversationState.ACTIVE


def agent(agent_id: AgentId) -> Participant:
    return Participant(
        kind=ParticipantKind.AGENT, name=agent_id.removeprefix("a-").title(), id=agent_id
    )


def with_members(conversation_id: str = "c-1", **changes: object) -> Conversation:
    """Alice's chat, transferred to Bob (offer open), Carol invited and Erin consulted."""
    base = conversation(
        conversation_id,
        state=ACTIVE,
        agent_id=ALICE,
        agent_name="Alice",
        last_seq=4,
        last_pos=6,
        agent_delivered_pos=5,
        offered_to=BOB,
        offered_name="Bob",
        offer_expires_at=at(30),
        offer_kind=OfferKind.TRANSFER,
        offer_by=ALICE,
        offer_note="she asks about refunds ✓",
        members=(
            Member(agent_id=BOB, name="Bob", role=MemberRole.OFFERED),
            Member(agent_id=CAROL, name="Carol", role=MemberRole.INVITED),
            Member(agent_id=AgentId("a-erin"), name="Erin", role=MemberRole.CONSULTANT),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_offer_and_members_round_trip_and_save(member_store: Store) -> None:
    full = with_members()
    plain = conversation("c-2")
    await add_conversations(member_store.uow, full, plain)
    async with member_store.uow() as uow:
        assert await uow.conversations.get(full.id) == full
        assert await uow.conversations.get(full.id, for_update=True) == full
        found = await uow.conversations.get(plain.id)
        assert found is not None
        assert (found.offer_kind, found.offer_by, found.offer_note, found.members) == (
            OfferKind.ROUTE,
            None,
            None,
            (),
        )
    # Bob took it: no offer any more, one member less (members change with an event).
    taken = dataclasses.replace(
        full,
        last_pos=7,
        offered_to=None,
        offered_name=None,
        offer_expires_at=None,
        offer_kind=OfferKind.ROUTE,
        offer_by=None,
        offer_note=None,
        members=full.members[1:],
    )
    invited = dataclasses.replace(plain, last_pos=1, members=(full.members[1],))
    async with member_store.uow() as uow:
        await uow.conversations.save(taken, previous=full)
        await uow.conversations.save(invited, previous=plain)
        await uow.commit()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(full.id) == taken
        assert await uow.conversations.get(full.id, for_update=True) == taken
        assert await uow.conversations.get(plain.id, for_update=True) == invited


async def test_a_new_owner_gets_the_cursor_the_change_gives_a_cursor_save_the_greater(
    member_store: Store,
) -> None:
    start = conversation("c-1", state=ACTIVE, agent_id=ALICE, last_pos=8, agent_delivered_pos=3)
    await add_conversations(member_store.uow, start)
    delivered = dataclasses.replace(start, agent_delivered_pos=6)
    async with member_store.uow() as uow:
        await uow.conversations.save(delivered, previous=start)
        await uow.commit()
    # A cursor-only save decided on the older copy: the greater stays.
    async with member_store.uow() as uow:
        await uow.conversations.save(
            dataclasses.replace(start, agent_delivered_pos=4), previous=start
        )
        await uow.commit()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1) == delivered
    # Bob becomes the owner, decided on the copy from before Alice's cursor moved: his
    # cursor is what the change says, below Alice's, even though it equals the cursor
    # the change was decided on.
    to_bob = dataclasses.replace(start, agent_id=BOB, agent_name="Bob", last_pos=9)
    async with member_store.uow() as uow:
        await uow.conversations.save(to_bob, previous=start)
        await uow.commit()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1) == to_bob
    member_store.forget_cache()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1, for_update=True) == to_bob
    # And to Carol with a lower cursor than Bob's (two saves of it in one unit of work),
    # beside another chat handed over the same way (PostgreSQL: one statement for both).
    other = conversation("c-2", state=ACTIVE, agent_id=ALICE, last_pos=8, agent_delivered_pos=7)
    await add_conversations(member_store.uow, other)
    to_carol = dataclasses.replace(to_bob, agent_id=CAROL, last_pos=10, agent_delivered_pos=2)
    other_to_carol = dataclasses.replace(other, agent_id=CAROL, last_pos=9, agent_delivered_pos=1)
    async with member_store.uow() as uow:
        moved = dataclasses.replace(to_bob, last_pos=10)
        await uow.conversations.save(moved, previous=to_bob)
        await uow.conversations.save(to_carol, previous=moved)
        await uow.conversations.save(other_to_carol, previous=other)
        await uow.commit()
    for _ in range(2):
        async with member_store.uow() as uow:
            assert await uow.conversations.get(C1) == to_carol
            assert await uow.conversations.get(other.id) == other_to_carol
        member_store.forget_cache()


async def test_offers_due_are_those_of_any_open_conversation(member_store: Store) -> None:
    await add_conversations(
        member_store.uow,
        conversation("c-queued", offered_to=ALICE, offer_expires_at=at(20)),
        with_members("c-active", offer_expires_at=at(10)),
        with_members("c-later", offer_expires_at=at(40)),
        with_members("c-ended", state=ConversationState.ENDED, offer_expires_at=at(5)),
    )
    async with member_store.uow() as uow:
        due = await uow.conversations.list_offers_due(at(30), 10)
        assert [c.id for c in due] == ["c-active", "c-queued"]
        assert [c.id for c in await uow.conversations.list_offers_due(at(30), 1)] == ["c-active"]


def desk_events(conversation_id: str) -> list[StoredEvent]:
    cid = ConversationId(conversation_id)
    alice, bob = agent(ALICE), agent(BOB)
    return [
        OfferMade(
            conversation_id=cid,
            pos=1,
            created_at=at(1),
            agent=bob,
            expires_at=at(21),
            kind=OfferKind.TRANSFER,
            by=alice,
            note="refunds ✓",
        ),
        OfferMade(conversation_id=cid, pos=2, created_at=at(2), agent=alice, expires_at=at(22)),
        OfferClosed(
            conversation_id=cid,
            pos=3,
            created_at=at(3),
            agent=bob,
            outcome=OfferOutcome.ACCEPTED,
            kind=OfferKind.CONSULT,
        ),
        MemberJoined(
            conversation_id=cid, pos=4, created_at=at(4), agent=bob, role=MemberRole.CONSULTANT
        ),
        DeskMessage(
            conversation_id=cid,
            pos=5,
            created_at=at(5),
            id=EventId("e-desk-5"),
            sender=bob,
            text="ask for the order number",
            client_msg_id="d-1",
        ),
        DeskMessage(
            conversation_id=cid,
            pos=6,
            created_at=at(6),
            id=EventId("e-6"),
            sender=bob,
            text="ok",
            attachments=("file:f-1", "https://files.example/a.pdf"),
        ),
        MemberLeft(
            conversation_id=cid, pos=7, created_at=at(7), agent=bob, role=MemberRole.CONSULTANT
        ),
        Transferred(
            conversation_id=cid, pos=8, created_at=at(8), by=alice, to=bob, note="over to you"
        ),
        Transferred(conversation_id=cid, pos=9, created_at=at(9), by=bob, to=None, queue="sales"),
    ]


async def store_events(store: Store, *events: StoredEvent) -> None:
    async with store.uow() as uow:
        for event in events:
            await uow.events.add(event)
        await uow.commit()


async def test_the_new_desk_events_round_trip(member_store: Store) -> None:
    await add_conversations(member_store.uow, conversation("c-1"))
    events = desk_events("c-1")
    await store_events(member_store, *reversed(events))
    async with member_store.uow() as uow:
        assert list(await uow.events.list_after_pos(C1, 0, 100)) == events
        assert list(await uow.events.list_after(C1, 0, 100)) == []  # none is the visitor's
        # A consultant's message is found by its client id, as a message is.
        assert await uow.events.get_message_by_client_id(C1, "d-1") == events[4]
        assert await uow.events.find_messages([(C1, "d-1"), (C1, "nope")]) == {
            (C1, "d-1"): events[4]
        }


async def test_a_client_id_is_one_message_whether_desk_or_visible(member_store: Store) -> None:
    await add_conversations(member_store.uow, conversation("c-1"))
    await store_events(member_store, desk_events("c-1")[4])
    # A retried consult message, or a visible one reusing its id: not a second row.
    for again in (
        dataclasses.replace(desk_events("c-1")[4], pos=6),
        message("c-1", 1, pos=6, client_msg_id="d-1"),
    ):
        async with member_store.uow() as uow:
            with pytest.raises(Conflict):
                await written(uow, uow.events.add(again))
    async with member_store.uow() as uow:
        assert [e.pos for e in await uow.events.list_after_pos(C1, 0, 10)] == [5]


@dataclasses.dataclass
class _Row:
    """An event row as an engine before slice 4 stored it."""

    type: str
    payload: dict[str, Any]
    conversation_id: str = "c-1"
    pos: int = 1
    seq: int | None = None
    created_at: datetime = T0
    event_id: str | None = None
    client_msg_id: str | None = None
    sender_kind: str | None = "agent"
    sender_name: str | None = "Alice"
    sender_id: str | None = ALICE
    text: str | None = None


def test_offers_stored_before_transfers_read_as_routed() -> None:
    made = decode_event(_Row(type="offer.made", payload={"expires_at": at(21).isoformat()}))
    assert made == OfferMade(
        conversation_id=C1, pos=1, created_at=T0, agent=agent(ALICE), expires_at=at(21)
    )
    assert isinstance(made, OfferMade)
    assert (made.kind, made.by, made.note) == (OfferKind.ROUTE, None, None)
    closed = decode_event(_Row(type="offer.closed", payload={"outcome": "timed_out"}))
    assert isinstance(closed, OfferClosed)
    assert (closed.outcome, closed.kind) == (OfferOutcome.TIMED_OUT, OfferKind.ROUTE)


async def test_a_transfer_applied_through_a_transaction(member_store: Store) -> None:
    """Offer, then acceptance: the owner's cursor is the change's, raised to what Bob had
    been delivered as the one offered; Alice stays to be delivered up to the handover;
    the conversation's members and the member rows agree after each step."""
    start = conversation("c-1", state=ACTIVE, agent_id=ALICE, agent_name="Alice")
    start = dataclasses.replace(start, last_pos=2, last_seq=2, agent_delivered_pos=2)
    await add_conversations(member_store.uow, start)
    await member_store.check_members()
    alice, bob = agent(ALICE), agent(BOB)

    async with Transaction(member_store.uow(), EventPublisher()) as tx:
        conv = await tx.conversations.get(C1, for_update=True)
        assert conv is not None
        offer = ChangeBuilder(conv)
        offer.add_hidden(
            lambda pos: OfferMade(
                conversation_id=C1,
                pos=pos,
                created_at=at(3),
                agent=bob,
                expires_at=at(23),
                kind=OfferKind.TRANSFER,
                by=alice,
            )
        )
        offer.update(offered_to=BOB, offered_name="Bob", offer_kind=OfferKind.TRANSFER)
        offer.update(offer_by=ALICE, offer_expires_at=at(23))
        offer.set_members((Member(agent_id=BOB, name="Bob", role=MemberRole.OFFERED),))
        offer.write_member(
            MemberJoin(
                agent_id=BOB, name="Bob", role=MemberRole.OFFERED, joined_pos=3, delivered_pos=2
            )
        )
        await tx.apply(offer.done())
        await tx.commit()
    await member_store.check_members()
    async with member_store.uow() as uow:
        await uow.members.advance({(C1, BOB): 3})  # the offer reached Bob
        await uow.commit()

    async with Transaction(member_store.uow(), EventPublisher()) as tx:
        conv = await tx.conversations.get(C1, for_update=True)
        assert conv is not None
        accept = ChangeBuilder(conv)
        accept.close_offer(OfferOutcome.ACCEPTED, at(4))
        accept.add_hidden(
            lambda pos: Transferred(conversation_id=C1, pos=pos, created_at=at(4), by=alice, to=bob)
        )
        handover = accept.conversation.last_pos
        # Bob's cursor as the owner starts below what he had been sent as the one offered.
        accept.update(agent_id=BOB, agent_name="Bob", agent_delivered_pos=2, members=())
        accept.write_member(MemberPromote(agent_id=BOB))
        accept.write_member(
            MemberJoin(
                agent_id=ALICE,
                name="Alice",
                role=MemberRole.FORMER,
                joined_pos=1,
                delivered_pos=conv.agent_delivered_pos,
                left_pos=handover,
            )
        )
        await tx.apply(accept.done())
        await tx.commit()
    await member_store.check_members()

    async with member_store.uow() as uow:
        final = await uow.conversations.get(C1)
        assert final is not None
        assert (final.agent_id, final.agent_delivered_pos, final.members) == (BOB, 3, ())
        assert (final.offered_to, final.offer_kind, final.offer_by) == (None, OfferKind.ROUTE, None)
        assert [d.agent_id for d in await uow.members.list_undelivered()] == [ALICE]
        (former,) = await uow.members.list_undelivered()
        assert (former.role, former.delivered_pos, former.until_pos) == (MemberRole.FORMER, 2, 5)
        assert list(await uow.members.list_for_agent(BOB)) == []
        kinds = [type(e) for e in await uow.events.list_after_pos(C1, 2, 10)]
        assert kinds == [OfferMade, OfferClosed, Transferred]


async def test_an_old_owners_cursor_never_moves_the_new_owners(member_store: Store) -> None:
    """A cursor decided on a copy from before a transfer (the old owner's, written late)
    is refused, so the new owner's cursor stays where their delivery is."""
    start = conversation("c-1", state=ACTIVE, agent_id=ALICE, last_pos=8, agent_delivered_pos=3)
    await add_conversations(member_store.uow, start)
    to_bob = dataclasses.replace(start, agent_id=BOB, agent_name="Bob", last_pos=9)
    async with member_store.uow() as uow:
        await uow.conversations.save(to_bob, previous=start)
        await uow.commit()
    late = dataclasses.replace(start, agent_delivered_pos=8)
    async with member_store.uow() as uow:
        with pytest.raises(Conflict):
            await written(uow, uow.conversations.save(late, previous=start))
    member_store.forget_cache()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1) == to_bob
