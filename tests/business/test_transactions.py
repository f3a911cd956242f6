"""Transactions publish exactly what they committed, after the commit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from business.conversation import Change, Conversation
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationId,
    VisitorContext,
    VisitorId,
)
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
