"""Delivery ownership stored in PostgreSQL (``data/repositories/delivery_owners.py``,
``business.delivery_ownership``): leases by the database's clock, one owner per
conversation, takeover only after the owner's lease ran out, release at a drain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from business import starts
from business.conversation import Conversation
from business.delivery_ownership import DeliveryOwnership
from business.events import DomainEvent
from business.model import ConversationId
from business.ownership_ports import NodeId
from business.publishing import EventPublisher
from business.transactions import Transactions
from data import Database
from tests.conftest import fresh_database_url
from tests.harness import World, make_world

pytestmark = pytest.mark.postgres


class Clock:
    """The monotonic clock the ownership counts its own lease by."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Database, World]]:
    async with fresh_database_url("postgres", tmp_path) as url:
        database = Database.from_url(url)
        try:
            await database.migrate()
            yield database, await make_world(uow=database.unit_of_work)
        finally:
            await database.dispose()


def _node(
    database: Database, name: str, lease: float = 5.0, clock: Clock | None = None
) -> DeliveryOwnership:
    return DeliveryOwnership(
        node=NodeId(name),
        transactions=Transactions(database.unit_of_work, EventPublisher()),
        lease_seconds=lease,
        monotonic=clock or Clock(),
    )


async def _conversations(world: World, count: int) -> list[ConversationId]:
    ids = []
    for n in range(count):
        conv = await world.start(await world.visitor(), f"Question {n}")
        ids.append(conv.id)
    return ids


async def test_the_first_claim_wins_and_the_others_learn_the_owner(
    store: tuple[Database, World],
) -> None:
    database, world = store
    first, second = _node(database, "first"), _node(database, "second")
    assert (await first.beat()).rejoined  # a new node has nothing of its own yet
    await second.beat()
    assert first.live == {"first"}  # as of its own beat
    assert not (await first.beat()).rejoined
    assert first.live == {"first", "second"}
    a, b = await _conversations(world, 2)

    assert await first.claim([a]) == {a}
    assert first.owns(a)
    assert await second.claim([a, b]) == {b}
    assert not second.owns(a)
    assert second.known_owner(a) == "first"
    # Claiming again what is already one's own is a no-op that still answers yes.
    assert await first.claim([a]) == {a}
    # A conversation that does not exist is nobody's.
    assert await first.claim([ConversationId("no-such-conversation")]) == set()


async def test_concurrent_claims_of_one_conversation_have_one_winner(
    store: tuple[Database, World],
) -> None:
    database, world = store
    nodes = [_node(database, f"node-{n}") for n in range(4)]
    for node in nodes:
        await node.beat()
    conversations = await _conversations(world, 5)
    won = await asyncio.gather(*(node.claim(conversations) for node in nodes))
    for cid in conversations:
        assert sum(cid in mine for mine in won) == 1, cid


async def test_a_conversation_is_taken_over_only_after_its_owners_lease_ran_out(
    store: tuple[Database, World],
) -> None:
    database, world = store
    owner, other = _node(database, "owner", lease=0.6), _node(database, "other")
    await owner.beat()
    await other.beat()
    (cid,) = await _conversations(world, 1)
    assert await owner.claim([cid]) == {cid}
    assert await other.claim([cid]) == set()
    await asyncio.sleep(1.0)  # the owner's lease (database time) runs out
    gone = (await other.beat()).gone
    assert gone == {"owner"}
    assert await other.claim([cid]) == {cid}
    assert other.owns(cid)


async def test_a_node_that_cannot_renew_stops_owning_before_anyone_may_take_over(
    store: tuple[Database, World],
) -> None:
    database, world = store
    clock = Clock()
    node = _node(database, "slow", lease=5.0, clock=clock)
    await node.beat()
    (cid,) = await _conversations(world, 1)
    assert await node.claim([cid]) == {cid}
    clock.now += 4.9
    assert node.owns(cid)
    clock.now += 0.2  # past the lease counted from before the renewal was sent
    assert not node.owns(cid)
    assert not node.leased
    # Not leased: a claim only asks who owns it (still this node, in the database).
    assert await node.claim([cid]) == set()
    beat = await node.beat()
    assert beat.rejoined
    assert not node.owns(cid)  # forgotten until claimed again
    assert await node.claim([cid]) == {cid}


async def test_leaving_hands_everything_over_at_once(store: tuple[Database, World]) -> None:
    database, world = store
    leaving, staying = _node(database, "leaving"), _node(database, "staying")
    await leaving.beat()
    await staying.beat()
    conversations = await _conversations(world, 3)
    assert await leaving.claim(conversations) == set(conversations)
    assert await leaving.leave() == 3
    assert not leaving.owns(conversations[0])
    assert (await staying.beat()).gone == {"leaving"}
    assert await staying.claim(conversations) == set(conversations)


async def test_a_process_that_cannot_deliver_nudges_a_live_one(
    store: tuple[Database, World],
) -> None:
    database, world = store
    linked, linkless = _node(database, "linked"), _node(database, "linkless")
    await linked.beat()
    await linkless.observe()  # no lease: it only watches
    assert linkless.live == {"linked"}
    (cid,) = await _conversations(world, 1)
    assert await linkless.claim([cid]) == set()
    assert linkless.known_owner(cid) is None  # nobody owns it yet
    assert linkless.any_live(cid) == "linked"


async def test_a_sole_owner_owns_everything_and_stores_nothing() -> None:
    sole = DeliveryOwnership(node=NodeId("alone"))
    cid = ConversationId("c1")
    assert sole.sole
    assert sole.owns(cid)
    assert await sole.claim([cid]) == {cid}
    assert (await sole.beat()).gone == frozenset()
    assert await sole.leave() == 0


async def test_a_renewal_that_commits_after_the_lease_ran_out_forgets_what_was_taken_meanwhile(
    store: tuple[Database, World],
) -> None:
    """The renewal was sent in time but committed only after the lease had run out (the
    database was slow): another node could take the conversation in between, so the
    renewed node must not go on delivering it."""
    database, world = store
    clock = Clock()
    slow, other = _node(database, "slow", lease=0.6, clock=clock), _node(database, "other")
    await slow.beat()
    await other.beat()
    (cid,) = await _conversations(world, 1)
    assert await slow.claim([cid]) == {cid}
    async with database.engine.connect() as blocker:
        # A row lock holds the renewal back, as a slow database would.
        await blocker.exec_driver_sql("SELECT 1 FROM engine_nodes WHERE id = 'slow' FOR UPDATE")
        renewal = asyncio.create_task(slow.beat())
        await asyncio.sleep(1.0)  # the lease (database time) runs out meanwhile
        clock.now += 1.0
        assert not slow.owns(cid)
        assert await other.claim([cid]) == {cid}
        await blocker.rollback()
    beat = await renewal
    assert beat.rejoined
    assert other.owns(cid)
    assert not slow.owns(cid)


async def test_a_renewal_during_a_leave_leaves_the_node_live_or_owning_nothing(
    store: tuple[Database, World],
) -> None:
    """The XMPP link drops (the lease loop leaves) and comes back at once (the reconnect's
    catch-up takes the lease again) while the leave is still on its way: the node must
    not end up delivering conversations while the database says it is gone."""
    database, world = store
    flapping, other = _node(database, "flapping"), _node(database, "other")
    await flapping.beat()
    await other.beat()
    first, second = await _conversations(world, 2)
    assert await flapping.claim([first]) == {first}
    async with database.engine.connect() as blocker:
        # Holds the leave back after it started, as a slow round trip would.
        await blocker.exec_driver_sql(
            "SELECT 1 FROM delivery_owners WHERE node_id = 'flapping' FOR UPDATE"
        )
        leaving = asyncio.create_task(flapping.leave())
        await asyncio.sleep(0.2)
        joining = asyncio.create_task(flapping.beat())
        await asyncio.sleep(0.5)
        await blocker.rollback()
    await leaving
    await joining
    await flapping.claim([second])
    await other.beat()
    await other.claim([second])
    assert not (flapping.owns(second) and other.owns(second))


async def _owners(database: Database, ids: list[ConversationId]) -> dict[str, str]:
    async with database.engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT conversation_id, node_id FROM delivery_owners"
        )
        found = rows.mappings().all()
    return {r["conversation_id"]: r["node_id"] for r in found if r["conversation_id"] in ids}


class _OwnedWhenPublished:
    """A subscriber that notes whether the node owned each conversation when its
    events were published."""

    def __init__(self, node: DeliveryOwnership) -> None:
        self._node = node
        self.seen: list[tuple[ConversationId, bool]] = []

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        self.seen.append((conversation.id, self._node.owns(conversation.id)))


async def test_a_conversation_started_here_is_owned_from_the_starts_commit(
    store: tuple[Database, World],
) -> None:
    """No claim and no catch-up for what a process starts: the start's own transaction
    stores the owner, and its events go to agents from here at once."""
    database, _ = store
    here, other = _node(database, "here"), _node(database, "other")
    await here.beat()
    await other.beat()
    world = await make_world(uow=database.unit_of_work, ownership=here)
    owned_when_published = _OwnedWhenPublished(here)
    world.services.publisher.subscribe(owned_when_published)
    first, second = await _conversations(world, 2)
    # Adopted before its events were published: they went to the notifier as this
    # process's, with nothing held back for a claim.
    assert owned_when_published.seen[:2] == [(first, True), (second, True)]
    assert here.owns(first)
    assert here.owns(second)
    assert await _owners(database, [first, second]) == {first: "here", second: "here"}
    assert await other.claim([first]) == set()
    assert other.known_owner(first) == "here"
    # A start that returns the visitor's open conversation stores nothing more.
    conv = await world.services.conversations.get_conversation(first)
    assert (await world.start(conv.visitor_id)).id == first
    assert await _owners(database, [first, second]) == {first: "here", second: "here"}


async def test_a_start_while_this_process_cannot_deliver_owns_nothing(
    store: tuple[Database, World],
) -> None:
    """No lease (the XMPP link is down, a standby): what it starts is left to the first
    claim, by a process that can reach agents."""
    database, _ = store
    linkless, linked = _node(database, "linkless"), _node(database, "linked")
    await linked.beat()
    world = await make_world(uow=database.unit_of_work, ownership=linkless)
    (cid,) = await _conversations(world, 1)
    assert not linkless.owns(cid)
    assert await _owners(database, [cid]) == {}
    assert await linked.claim([cid]) == {cid}


async def test_a_lease_lapsed_before_the_start_is_adopted_leaves_it_to_a_claim(
    store: tuple[Database, World],
) -> None:
    """The lease ran out (and came back) between the start's commit and its adoption:
    another node may have taken the conversation in the gap, so the node does not
    deliver it until it claims it again."""
    database, world = store
    clock = Clock()
    node = _node(database, "node", lease=5.0, clock=clock)
    await node.beat()
    (cid,) = await _conversations(world, 1)
    async with Transactions(database.unit_of_work, EventPublisher())() as tx:
        owned = node.own_started(tx, [cid])
        await tx.commit()
    clock.now += 6.0
    assert (await node.beat()).rejoined
    node.adopt(owned)
    assert not node.owns(cid)
    assert await node.claim([cid]) == {cid}  # its stored ownership stands
    assert node.owns(cid)


async def test_a_claim_that_outlives_a_lapse_of_the_lease_does_not_count(
    store: tuple[Database, World],
) -> None:
    """The claim's statement waited (a row lock) while the node's lease lapsed and was
    renewed: what it won may have been another node's in the gap, so it is claimed
    again before it is delivered."""
    database, world = store
    clock = Clock()
    node = _node(database, "node", lease=5.0, clock=clock)
    await node.beat()
    (cid,) = await _conversations(world, 1)
    async with database.engine.connect() as blocker:
        # The claim's foreign key check waits for this lock.
        await blocker.exec_driver_sql(f"SELECT 1 FROM conversations WHERE id = '{cid}' FOR UPDATE")
        claiming = asyncio.create_task(node.claim([cid]))
        await asyncio.sleep(0.3)
        assert not claiming.done()
        clock.now += 6.0
        assert (await node.beat()).rejoined
        await blocker.rollback()
    assert await claiming == {cid}  # stored as this node's
    assert not node.owns(cid)
    assert await node.claim([cid]) == {cid}
    assert node.owns(cid)


async def test_a_batch_of_new_and_returned_starts_owns_only_the_new_ones(
    store: tuple[Database, World], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starts that arrive together are stored in one batch; a visitor's open
    conversation returned by a start is owned already, and written again it would fail
    the whole batch."""
    database, _ = store
    here = _node(database, "here")
    await here.beat()
    world = await make_world(uow=database.unit_of_work, ownership=here)
    returning = await world.visitor()
    (existing,) = [(await world.start(returning, "Hello")).id]

    async def no_retry(*args: object) -> None:
        raise AssertionError("the batch failed and was done again start by start")

    monkeypatch.setattr(starts, "one_by_one", no_retry)
    new_visitors = [await world.visitor() for _ in range(2)]
    # The first start runs alone; the three after it wait and go in one batch.
    started = await asyncio.gather(
        world.start(returning),
        world.start(returning),
        *(world.start(v, "Hi") for v in new_visitors),
    )
    assert [conv.id for conv in started[:2]] == [existing, existing]
    new = [conv.id for conv in started[2:]]
    assert len(set(new)) == 2
    assert existing not in new
    assert all(here.owns(cid) for cid in (existing, *new))
    assert await _owners(database, [existing, *new]) == dict.fromkeys([existing, *new], "here")
