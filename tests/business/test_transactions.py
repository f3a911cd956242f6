"""Transactions publish exactly what they committed, after the commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from business.conversation import Change, Conversation
from business.events import DomainEvent
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationId,
    VisitorContext,
    VisitorId,
)
from business.ports import UnitOfWork
from business.publishing import EventPublisher
from business.transactions import Transactions
from tests.fakes import FakeStore, FakeUnitOfWork, RecordingNotifier
from tests.harness import make_world

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def setup() -> tuple[Transactions, RecordingNotifier, FakeStore]:
    world = await make_world()
    store = world.fakes
    publisher = EventPublisher()
    recorder = RecordingNotifier()
    publisher.subscribe(recorder)
    return Transactions(lambda: FakeUnitOfWork(store), publisher), recorder, store


def opened(visitor_id: VisitorId) -> Change:
    return Conversation.open(
        id=ConversationId("c1"),
        tenant_id=DEFAULT_TENANT,
        visitor_id=visitor_id,
        visitor_name="Ann",
        queue=DEFAULT_QUEUE,
        position=1,
        now=T0,
        context=VisitorContext(),
        form={},
    )


async def test_nothing_is_published_before_the_block_ends() -> None:
    transactions, recorder, store = await setup()
    world = await make_world(store=store)
    visitor = await world.visitor()
    change = opened(visitor)
    async with transactions() as tx:
        await tx.apply(change)
        await tx.commit()
        assert recorder.published == [], "published while the transaction was still open"
    assert [e for _, e in recorder.published] == list(change.events)


async def test_a_change_applied_but_never_committed_is_a_bug_not_a_silent_loss() -> None:
    transactions, recorder, store = await setup()
    world = await make_world(store=store)
    visitor = await world.visitor()
    change = opened(visitor)

    async def forget_to_commit() -> None:
        async with transactions() as tx:
            await tx.apply(change)

    with pytest.raises(RuntimeError, match="never committed"):
        await forget_to_commit()
    assert recorder.published == []
    assert ConversationId("c1") not in store.conversations


async def test_what_was_committed_is_published_even_if_the_block_fails_afterwards() -> None:
    transactions, recorder, store = await setup()
    world = await make_world(store=store)
    visitor = await world.visitor()
    change = opened(visitor)

    async def commit_then_fail() -> None:
        async with transactions() as tx:
            await tx.apply(change)
            await tx.commit()
            raise KeyError("later")

    with pytest.raises(KeyError):
        await commit_then_fail()
    assert [e for _, e in recorder.published] == list(change.events)
    assert ConversationId("c1") in store.conversations


class _Stager:
    """Records what it was given, and where, and can fail."""

    def __init__(self, *, fail: bool = False) -> None:
        self.staged: list[tuple[UnitOfWork, ConversationId, list[DomainEvent]]] = []
        self.fail = fail

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        self.staged.append((uow, conversation.id, list(events)))
        if self.fail:
            raise OSError("the outbox is full")


async def test_a_stager_sees_the_events_inside_the_transaction_before_the_commit() -> None:
    transactions, recorder, store = await setup()
    stager = _Stager()
    transactions.publisher.add_stager(stager)
    world = await make_world(store=store)
    change = opened(await world.visitor())
    async with transactions() as tx:
        await tx.apply(change)
        assert [(cid, events) for _, cid, events in stager.staged] == [
            (ConversationId("c1"), list(change.events))
        ]
        assert recorder.published == []
        await tx.commit()
    assert [e for _, e in recorder.published] == list(change.events)


async def test_a_failing_stager_fails_the_transaction_and_nothing_is_stored_or_published() -> None:
    transactions, recorder, store = await setup()
    transactions.publisher.add_stager(_Stager(fail=True))
    world = await make_world(store=store)
    change = opened(await world.visitor())

    async def apply_and_commit() -> None:
        async with transactions() as tx:
            await tx.apply(change)
            await tx.commit()

    with pytest.raises(OSError, match="outbox is full"):
        await apply_and_commit()
    assert recorder.published == []
    assert ConversationId("c1") not in store.conversations
