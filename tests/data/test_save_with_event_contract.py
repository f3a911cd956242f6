"""A conversation's save and its event, alone in a unit of work: stored together or not at
all. On PostgreSQL this is the one-statement path (``data.repositories.one_statement``),
so each refusal must undo the other half too."""

from __future__ import annotations

import dataclasses

import pytest

from business.conversation import Conversation
from business.errors import Conflict
from business.events import MessagePosted
from business.model import ConversationId
from business.ports import UnitOfWork, UnitOfWorkFactory
from tests.data.contract_support import (
    add_conversations,
    add_events,
    conversation,
    message,
    seed,
    written,
)

C1 = ConversationId("c-1")


async def save_and_add(uow: UnitOfWork, decided_on: Conversation, event: MessagePosted) -> None:
    await uow.conversations.save(
        dataclasses.replace(decided_on, last_seq=event.seq, last_pos=event.pos),
        previous=decided_on,
    )
    await uow.events.add(event)


async def test_a_save_and_its_event_are_stored_together(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory)
    start = conversation("c-1")
    await add_conversations(uow_factory, start)
    after = dataclasses.replace(start, last_seq=1, last_pos=1)
    event = message("c-1", 1, client_msg_id="m-1")
    async with uow_factory() as uow:
        await uow.conversations.save(after, previous=start)
        await uow.events.add(event)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.conversations.get(C1, for_update=True) == after
        assert list(await uow.events.list_after(C1, 0, 10)) == [event]


async def test_a_stale_save_stores_neither_the_save_nor_the_event(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    start = conversation("c-1")
    await add_conversations(uow_factory, start)
    moved = dataclasses.replace(start, last_seq=1, last_pos=1)
    first = message("c-1", 1, client_msg_id="m-1")
    async with uow_factory() as uow:
        await uow.conversations.save(moved, previous=start)
        await uow.events.add(first)
        await uow.commit()
    async with uow_factory() as uow:
        # Decided on ``start`` again, as a second process that had not seen ``moved``
        # (the fakes refuse at once, SQL at the commit).
        with pytest.raises(Conflict):
            await written(uow, save_and_add(uow, start, message("c-1", 2, client_msg_id="m-2")))
    async with uow_factory() as uow:
        assert await uow.conversations.get(C1, for_update=True) == moved
        assert list(await uow.events.list_after(C1, 0, 10)) == [first]


async def test_an_event_whose_client_id_is_taken_undoes_the_save(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory)
    start = conversation("c-1", last_seq=1, last_pos=1)
    await add_conversations(uow_factory, start)
    original = message("c-1", 1, client_msg_id="m-1")
    await add_events(uow_factory, original)
    async with uow_factory() as uow:
        await uow.conversations.save(
            dataclasses.replace(start, last_seq=2, last_pos=2), previous=start
        )
        with pytest.raises(Conflict):
            await written(uow, uow.events.add(message("c-1", 2, client_msg_id="m-1")))
    async with uow_factory() as uow:
        assert await uow.conversations.get(C1, for_update=True) == start
        assert list(await uow.events.list_after(C1, 0, 10)) == [original]
