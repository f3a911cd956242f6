"""The ``MemberRepository`` contract (``business.member_ports``), run against the
in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from business.conversation import Conversation
from business.member_ports import (
    MemberDelivery,
    MemberLeave,
    MemberPromote,
    MemberRoleSet,
)
from business.model import AgentId, ConversationId, ConversationState, MemberRole
from tests.data.contract_support import (
    ALICE,
    BOB,
    OTHER_TENANT,
    OTHER_VISITOR,
    TENANT,
    add_conversations,
    at,
    conversation,
)
from tests.data.members_support import Store, join, write

CAROL = AgentId("a-carol")
DAVE = AgentId("a-dave")
ERIN = AgentId("a-erin")
C1 = ConversationId("c-1")
C2 = ConversationId("c-2")
ACTIVE = ConversationState.ACTIVE


def active(conversation_id: str, *, last_pos: int = 9, **changes: object) -> Conversation:
    """A chat Alice owns, with ``last_pos`` events (none of them the visitor's)."""
    return conversation(
        conversation_id,
        state=ACTIVE,
        agent_id=ALICE,
        agent_name="Alice",
        last_pos=last_pos,
        **changes,
    )


async def undelivered(store: Store) -> list[MemberDelivery]:
    async with store.uow() as uow:
        return list(await uow.members.list_undelivered())


async def chats_of(store: Store, agent_id: AgentId) -> list[tuple[ConversationId, MemberRole]]:
    async with store.uow() as uow:
        return list(await uow.members.list_for_agent(agent_id))


def delivery(
    conversation_id: ConversationId,
    agent_id: AgentId,
    role: MemberRole,
    delivered: int,
    until: int,
) -> MemberDelivery:
    return MemberDelivery(
        conversation_id=conversation_id,
        agent_id=agent_id,
        role=role,
        delivered_pos=delivered,
        until_pos=until,
    )


async def test_a_join_after_leaving_replaces_the_earlier_row(member_store: Store) -> None:
    await add_conversations(member_store.uow, active("c-1"))
    await write(member_store, ("c-1", join(BOB, joined=3, delivered=2)))
    assert await chats_of(member_store, BOB) == [(C1, MemberRole.INVITED)]
    assert await undelivered(member_store) == [delivery(C1, BOB, MemberRole.INVITED, 2, 9)]

    await write(member_store, ("c-1", MemberLeave(agent_id=BOB, left_pos=4)))
    assert await chats_of(member_store, BOB) == []
    assert await undelivered(member_store) == [delivery(C1, BOB, MemberRole.INVITED, 2, 4)]

    # Back as a consultant: the new row replaces the old, its leaving included, and its
    # cursor is the one given (not the greater of old and new).
    await write(member_store, ("c-1", join(BOB, MemberRole.CONSULTANT, joined=7, delivered=1)))
    assert await chats_of(member_store, BOB) == [(C1, MemberRole.CONSULTANT)]
    assert await undelivered(member_store) == [delivery(C1, BOB, MemberRole.CONSULTANT, 1, 9)]


async def test_a_former_owner_joins_gone_already(member_store: Store) -> None:
    await add_conversations(member_store.uow, active("c-1"))
    await write(member_store, ("c-1", join(ALICE, MemberRole.FORMER, delivered=3, left=6)))
    assert await chats_of(member_store, ALICE) == []
    assert await undelivered(member_store) == [delivery(C1, ALICE, MemberRole.FORMER, 3, 6)]


async def test_role_set_and_leave_change_only_their_row(member_store: Store) -> None:
    await add_conversations(member_store.uow, active("c-1"), active("c-2", created_at=at(1)))
    await write(
        member_store,
        ("c-1", join(BOB, MemberRole.OFFERED)),
        ("c-2", join(BOB, MemberRole.OFFERED)),
        ("c-1", join(CAROL, MemberRole.CONSULTANT)),
    )
    await write(
        member_store,
        ("c-1", MemberRoleSet(agent_id=BOB, role=MemberRole.INVITED)),
        ("c-1", MemberLeave(agent_id=CAROL, left_pos=5)),
        # Rows that do not exist stay absent.
        ("c-1", MemberRoleSet(agent_id=DAVE, role=MemberRole.INVITED)),
        ("c-2", MemberLeave(agent_id=DAVE, left_pos=5)),
    )
    assert await chats_of(member_store, BOB) == [(C1, MemberRole.INVITED), (C2, MemberRole.OFFERED)]
    assert await chats_of(member_store, CAROL) == []
    assert await chats_of(member_store, DAVE) == []
    found = await undelivered(member_store)
    assert [(d.conversation_id, d.agent_id, d.until_pos) for d in found] == [
        (C1, BOB, 9),
        (C1, CAROL, 5),
        (C2, BOB, 9),
    ]


async def test_writes_in_one_unit_of_work_keep_their_order(member_store: Store) -> None:
    await add_conversations(member_store.uow, active("c-1"))
    # Left, then joined again: the join must come after the leaving it follows, and the
    # cursor moved after the second join must move that row.
    async with member_store.uow() as uow:
        await uow.members.write(C1, join(BOB, delivered=1))
        await uow.members.advance({(C1, BOB): 2})
        await uow.members.write(C1, MemberLeave(agent_id=BOB, left_pos=3))
        await uow.members.write(C1, join(BOB, MemberRole.CONSULTANT, joined=5, delivered=4))
        await uow.members.advance({(C1, BOB): 6})
        await uow.members.write(C1, MemberRoleSet(agent_id=BOB, role=MemberRole.INVITED))
        await uow.commit()
    assert await chats_of(member_store, BOB) == [(C1, MemberRole.INVITED)]
    assert await undelivered(member_store) == [delivery(C1, BOB, MemberRole.INVITED, 6, 9)]


async def test_advance_moves_forward_only_and_never_past_the_leaving(
    member_store: Store,
) -> None:
    await add_conversations(member_store.uow, active("c-1"), active("c-2", created_at=at(1)))
    await write(
        member_store,
        ("c-1", join(BOB, delivered=2)),
        ("c-1", join(CAROL, delivered=1, left=4)),
        ("c-2", join(BOB, delivered=0)),
    )
    async with member_store.uow() as uow:
        await uow.members.advance(
            {
                (C1, BOB): 5,
                (C1, CAROL): 8,  # left at 4: delivered up to there, no further
                (C2, BOB): 3,
                (C1, DAVE): 3,  # no such member: ignored
            }
        )
        await uow.commit()
    assert await undelivered(member_store) == [
        delivery(C1, BOB, MemberRole.INVITED, 5, 9),
        delivery(C2, BOB, MemberRole.INVITED, 3, 9),
    ]
    async with member_store.uow() as uow:
        await uow.members.advance({(C1, BOB): 4, (C2, BOB): 3})  # behind, and equal
        await uow.members.advance({})
        await uow.commit()
    assert [d.delivered_pos for d in await undelivered(member_store)] == [5, 3]
    assert await chats_of(member_store, DAVE) == []


async def test_promote_raises_the_owner_cursor_and_removes_the_row(member_store: Store) -> None:
    await add_conversations(
        member_store.uow,
        active("c-1", agent_delivered_pos=3),
        active("c-2", agent_delivered_pos=7, created_at=at(1)),
    )
    await write(
        member_store,
        ("c-1", join(BOB, delivered=6)),
        ("c-2", join(BOB, delivered=4)),
        ("c-2", join(CAROL, delivered=5)),
    )
    async with member_store.uow() as uow:
        await uow.members.write(C1, MemberPromote(agent_id=BOB))
        await uow.members.write(C2, MemberPromote(agent_id=BOB))
        await uow.members.write(C2, MemberPromote(agent_id=DAVE))  # no row: nothing
        # Read back in the same unit of work: the raised cursor already.
        found = await uow.conversations.get(C1)
        assert found is not None
        assert found.agent_delivered_pos == 6
        await uow.commit()
    async with member_store.uow() as uow:
        c1 = await uow.conversations.get(C1)
        c2 = await uow.conversations.get(C2)
        assert c1 is not None
        assert c2 is not None
        # Raised to the member's cursor, never lowered to it.
        assert (c1.agent_delivered_pos, c2.agent_delivered_pos) == (6, 7)
        assert c1 == active("c-1", agent_delivered_pos=6)
    assert await chats_of(member_store, BOB) == []
    assert await undelivered(member_store) == [delivery(C2, CAROL, MemberRole.INVITED, 5, 9)]


async def test_a_promotion_leaves_nothing_stale_for_later_saves(member_store: Store) -> None:
    """A change decided on the conversation as read before the promotion (or cached)
    still saves, and a cursor it carries never takes the promoted one back."""
    start = active("c-1", agent_delivered_pos=3)
    await add_conversations(member_store.uow, start)
    await write(member_store, ("c-1", join(BOB, delivered=6)))
    async with member_store.uow() as uow:
        read = await uow.conversations.get(C1)  # fills the cache on a database
        assert read == start
    async with member_store.uow() as uow:
        await uow.members.write(C1, MemberPromote(agent_id=BOB))
        await uow.commit()
    async with member_store.uow() as uow:
        later = await uow.conversations.get(C1, for_update=True)
        assert later is not None
        assert later.agent_delivered_pos == 6
        # Decided on the copy from before the promotion: it saves, and its cursor is
        # behind the promoted one, which stays.
        moved = dataclasses.replace(start, agent_delivered_pos=4, last_pos=10)
        await uow.conversations.save(moved, previous=start)
        await uow.commit()
    promoted = dataclasses.replace(moved, agent_delivered_pos=6)
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1) == promoted
    member_store.forget_cache()
    async with member_store.uow() as uow:
        assert await uow.conversations.get(C1) == promoted


async def test_list_undelivered_is_oldest_conversation_first_then_by_agent(
    member_store: Store,
) -> None:
    await add_conversations(
        member_store.uow,
        active("c-new", last_pos=5, created_at=at(5)),
        active("c-old", last_pos=5, created_at=at(1)),
        conversation("c-ended", state=ConversationState.ENDED, last_pos=8, created_at=at(3)),
    )
    await write(
        member_store,
        ("c-new", join(DAVE, delivered=5)),  # all delivered
        ("c-new", join(CAROL, MemberRole.FORMER, delivered=1, left=3)),
        ("c-old", join(BOB, MemberRole.CONSULTANT, delivered=2)),
        ("c-old", join(ALICE, MemberRole.OFFERED, delivered=0)),
        ("c-ended", join(ERIN, delivered=6, left=8)),  # still owed what came before the end
    )
    old, new, ended = ConversationId("c-old"), ConversationId("c-new"), ConversationId("c-ended")
    assert await undelivered(member_store) == [
        delivery(old, ALICE, MemberRole.OFFERED, 0, 5),
        delivery(old, BOB, MemberRole.CONSULTANT, 2, 5),
        delivery(ended, ERIN, MemberRole.INVITED, 6, 8),
        delivery(new, CAROL, MemberRole.FORMER, 1, 3),
    ]


async def test_count_load_counts_invited_and_offered_in_open_chats_of_the_tenant(
    member_store: Store,
) -> None:
    await add_conversations(
        member_store.uow,
        active("c-1"),
        conversation("c-queued", created_at=at(1)),
        conversation("c-ended", state=ConversationState.ENDED, created_at=at(2)),
        conversation("c-other", tenant_id=OTHER_TENANT, visitor_id=OTHER_VISITOR, created_at=at(3)),
    )
    await write(
        member_store,
        ("c-1", join(BOB, MemberRole.INVITED)),
        ("c-1", join(CAROL, MemberRole.OFFERED)),
        ("c-1", join(DAVE, MemberRole.CONSULTANT)),  # not counted
        ("c-1", join(ERIN, MemberRole.INVITED, left=4)),  # gone
        ("c-queued", join(BOB, MemberRole.OFFERED)),
        ("c-ended", join(BOB, MemberRole.INVITED)),  # over
        ("c-other", join(BOB, MemberRole.INVITED)),  # another tenant's
        ("c-other", join(CAROL, MemberRole.FORMER, left=1)),
    )
    async with member_store.uow() as uow:
        everyone = [ALICE, BOB, CAROL, DAVE, ERIN]
        assert dict(await uow.members.count_load(TENANT, everyone)) == {BOB: 2, CAROL: 1}
        assert dict(await uow.members.count_load(TENANT, [CAROL, DAVE])) == {CAROL: 1}
        assert dict(await uow.members.count_load(OTHER_TENANT, everyone)) == {BOB: 1}
        assert dict(await uow.members.count_load(TENANT, [])) == {}


async def test_list_for_agent_is_their_current_memberships_of_open_chats_oldest_first(
    member_store: Store,
) -> None:
    await add_conversations(
        member_store.uow,
        active("c-late", created_at=at(5)),
        active("c-early", created_at=at(1)),
        active("c-left", created_at=at(2)),
        conversation("c-queued", created_at=at(3)),
        conversation("c-ended", state=ConversationState.ENDED, created_at=at(0)),
    )
    await write(
        member_store,
        ("c-late", join(BOB, MemberRole.CONSULTANT)),
        ("c-early", join(BOB, MemberRole.INVITED)),
        ("c-left", join(BOB, MemberRole.INVITED, left=3)),
        ("c-queued", join(BOB, MemberRole.OFFERED)),
        ("c-ended", join(BOB, MemberRole.INVITED)),
        ("c-late", join(CAROL, MemberRole.INVITED)),
    )
    assert await chats_of(member_store, BOB) == [
        (ConversationId("c-early"), MemberRole.INVITED),
        (ConversationId("c-queued"), MemberRole.OFFERED),
        (ConversationId("c-late"), MemberRole.CONSULTANT),
    ]
    assert await chats_of(member_store, CAROL) == [(ConversationId("c-late"), MemberRole.INVITED)]
    assert await chats_of(member_store, ALICE) == []


async def test_a_read_only_unit_of_work_refuses_member_writes(member_store: Store) -> None:
    await add_conversations(member_store.uow, active("c-1"))
    await write(member_store, ("c-1", join(BOB, delivered=1)))
    uow = member_store.uow()
    uow.read_only()
    async with uow:
        assert [d.agent_id for d in await uow.members.list_undelivered()] == [BOB]
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.members.write(C1, join(CAROL))
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.members.write(C1, MemberPromote(agent_id=BOB))
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.members.advance({(C1, BOB): 5})
        with pytest.raises(RuntimeError, match="read-only"):
            await uow.members.advance({})
    assert await undelivered(member_store) == [delivery(C1, BOB, MemberRole.INVITED, 1, 9)]
