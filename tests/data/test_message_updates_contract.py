"""``message.updated`` in the event store, on the fakes, SQLite and PostgreSQL: it round
trips among the visitor's events, and is never taken for a message."""

from __future__ import annotations

from business.events import MessageUpdated
from business.model import ConversationId, EventId, Participant, ParticipantKind
from business.ports import UnitOfWorkFactory
from tests.data.contract_support import (
    ALICE,
    add_conversations,
    add_events,
    at,
    conversation,
    message,
    seed,
)


async def test_a_message_update_round_trips_and_is_no_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    await add_conversations(uow_factory, conversation("c-1"))
    agent = Participant(kind=ParticipantKind.AGENT, name="Alice", id=ALICE)
    original = message("c-1", 1, sender=agent, text="Monday", client_msg_id="xmpp:s1")
    update = MessageUpdated(
        conversation_id=ConversationId("c-1"),
        seq=2,
        pos=2,
        created_at=at(2),
        id=EventId("e-2"),
        replaces=original.id,
        sender=agent,
        text="Tuesday ✓ <b>not html</b>",
    )
    await add_events(uow_factory, original, update)

    async with uow_factory() as uow:
        cid = ConversationId("c-1")
        assert list(await uow.events.list_after(cid, 0, 10)) == [original, update]
        assert list(await uow.events.list_after_pos(cid, 1, 10)) == [update]
        assert await uow.events.get_message_by_client_id(cid, "xmpp:s1") == original
        assert await uow.events.count_messages_after(cid, 0, ParticipantKind.VISITOR.value) == 1
