"""Group commit on the message path: many messages, one transaction, acks only after it
committed; a batch that fails to commit acknowledges nothing and loses nothing."""

from __future__ import annotations

import asyncio

import pytest

from business import commands as c
from business.errors import Unavailable
from business.events import MessagePosted
from business.model import ConversationId
from tests.fakes import FakeStore, FakeUnitOfWork
from tests.harness import ALICE, World, assert_store_consistent, make_world


class SwitchableUnitOfWork(FakeUnitOfWork):
    """Commits like the fake, or fails like a database that went away."""

    down = False
    commits: list[int] = []

    async def commit(self) -> None:
        await asyncio.sleep(0)  # a commit takes time: others queue meanwhile
        if SwitchableUnitOfWork.down:
            raise Unavailable("the database is unavailable; retry in a moment")
        changed = sum(len(v) for v in self._work.events.values()) - sum(
            len(v) for v in self._committed.events.values()
        )
        SwitchableUnitOfWork.commits.append(changed)
        await super().commit()


@pytest.fixture
async def world() -> World:
    store = FakeStore()
    SwitchableUnitOfWork.down = False
    SwitchableUnitOfWork.commits = []
    return await make_world(store=store, uow=lambda: SwitchableUnitOfWork(store))


async def send_all(
    world: World, conversation_id: ConversationId, ids: list[str]
) -> list[MessagePosted | BaseException]:
    conv = world.conv(conversation_id)
    return await asyncio.gather(
        *(
            world.messaging.send_visitor_message(
                c.SendVisitorMessage(
                    visitor_id=conv.visitor_id,
                    conversation_id=conv.id,
                    client_msg_id=client_msg_id,
                    text=f"text {client_msg_id}",
                )
            )
            for client_msg_id in ids
        ),
        return_exceptions=True,
    )


async def test_messages_that_arrive_together_are_stored_in_few_transactions(world: World) -> None:
    await world.agent(ALICE, max_chats=5)
    conv = await world.start(await world.visitor(), text="hello")
    SwitchableUnitOfWork.commits = []
    acks = await send_all(world, conv.id, [f"m-{i}" for i in range(40)])

    assert all(isinstance(ack, MessagePosted) for ack in acks)
    assert SwitchableUnitOfWork.commits == [40], "one transaction for all of them"
    seqs = [ack.seq for ack in acks if isinstance(ack, MessagePosted)]
    assert seqs == list(range(seqs[0], seqs[0] + 40)), "acked in arrival order, gap-free"
    assert_store_consistent(world.fakes)


async def test_a_lone_message_is_stored_at_once(world: World) -> None:
    await world.agent(ALICE, max_chats=5)
    conv = await world.start(await world.visitor(), text="hello")
    SwitchableUnitOfWork.commits = []
    ack = await world.say(conv, "just me", "m-1")
    assert SwitchableUnitOfWork.commits == [1]
    assert world.stored(conv.id)[-1] == ack


async def test_a_batch_that_fails_to_commit_acks_nothing_and_retries_store_each_once(
    world: World,
) -> None:
    await world.agent(ALICE, max_chats=5)
    conv = await world.start(await world.visitor(), text="hello")
    before = world.conv(conv.id).last_seq
    ids = [f"m-{i}" for i in range(12)]

    SwitchableUnitOfWork.down = True
    failed = await send_all(world, conv.id, ids)

    assert all(isinstance(outcome, Unavailable) for outcome in failed), "nothing acked"
    assert world.conv(conv.id).last_seq == before, "nothing stored"
    published = [e for e in world.published(conv.id) if isinstance(e, MessagePosted)]
    assert [m.client_msg_id for m in published] == ["first"], "nothing published"

    # The clients retry, some twice over, after the database came back.
    SwitchableUnitOfWork.down = False
    retried = await send_all(world, conv.id, ids + ids[:5])

    stored = [
        e for e in world.stored(conv.id) if isinstance(e, MessagePosted) and e.client_msg_id in ids
    ]
    assert sorted(m.client_msg_id or "" for m in stored) == sorted(ids), "each stored once"
    by_id = {m.client_msg_id: m for m in stored}
    for client_msg_id, ack in zip(ids + ids[:5], retried, strict=True):
        assert ack == by_id[client_msg_id], "a retry is acked as the stored message"
    assert_store_consistent(world.fakes)


async def test_one_refused_message_does_not_take_its_batch_down(world: World) -> None:
    await world.agent(ALICE, max_chats=5)
    mine = await world.start(await world.visitor(), text="hello")
    theirs = await world.start(await world.visitor(), text="hi")
    conv = world.conv(mine.id)

    async def intruder() -> MessagePosted:
        return await world.messaging.send_visitor_message(
            c.SendVisitorMessage(
                visitor_id=conv.visitor_id,
                conversation_id=theirs.id,
                client_msg_id="x",
                text="not my chat",
            )
        )

    outcomes = await asyncio.gather(
        send_all(world, mine.id, ["a", "b"]),
        intruder(),
        send_all(world, mine.id, ["c"]),
        return_exceptions=True,
    )
    first, refused, last = outcomes
    assert isinstance(refused, Exception)
    assert "another visitor" in str(refused)
    assert isinstance(first, list)
    assert all(isinstance(m, MessagePosted) for m in first)
    assert isinstance(last, list)
    assert isinstance(last[0], MessagePosted)
    assert_store_consistent(world.fakes)
