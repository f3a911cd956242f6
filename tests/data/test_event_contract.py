"""The event repository's contract, over the fakes, SQLite and PostgreSQL (split from
``test_repository_contract``)."""

from __future__ import annotations

import pytest

from business.bot_model import QuickReply
from business.errors import Conflict
from business.events import (
    ConversationEvent,
    ParticipantJoined,
    ParticipantLeft,
    ReadMarked,
    StateChanged,
)
from business.model import (
    ConversationId,
    ConversationState,
    Participant,
    ParticipantKind,
)
from business.ports import UnitOfWorkFactory
from tests.data.contract_support import (
    ALICE,
    REJECTED,
    VISITOR,
    add_conversations,
    add_events,
    assert_utc,
    at,
    conversation,
    message,
    seed,
    written,
)

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
        message(
            conversation_id,
            6,
            sender=bot,
            text="automatic",
            quick_replies=(QuickReply(id="hours", label="Hours ✓"), QuickReply(id="p", label="P")),
        ),
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


async def test_newest_visible_is_the_highest_seq_of_each_conversation(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"), conversation("c-2"))
    await add_conversations(uow_factory, conversation("c-3"))
    events = every_event_type("c-1")
    await add_events(uow_factory, *reversed(events), message("c-2", 1), message("c-2", 2))
    ids = [ConversationId(cid) for cid in ("c-1", "c-2", "c-3", "nobody")]
    async with uow_factory() as uow:
        found = await uow.events.newest_visible(ids)
        # c-3 has no event yet, and nobody is unknown: both absent.
        assert dict(found) == {ids[0]: events[-1], ids[1]: message("c-2", 2)}
        assert await uow.events.newest_visible([]) == {}
