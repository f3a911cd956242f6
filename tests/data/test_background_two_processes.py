"""The engine's background jobs in two engine processes on one database
(``tests/data/test_cross_process_invariants.py`` has an offer expired by both).

Each process has its own ``Database`` (pool and caches) and its own services, as two
engine processes on one PostgreSQL have; they share the (fake) clock. Two questions for
each job whose deadlines are stored: run by both processes at once, does it fire once?
And when the process that would have fired it stops, does the other fire it?
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from business import commands as c
from business.cluster_jobs import in_one_process
from business.events import MessagePosted, OfferClosed, OfferOutcome
from business.inactivity import InactivityClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ConversationId, ParticipantKind
from business.offers import OfferClock
from business.publishing import EventPublisher
from business.retention import ConfigureRetention
from business.transactions import Transactions
from business.webhook_commands import CreateWebhook
from business.webhook_dispatcher import WebhookDispatcher
from business.webhook_settings import WebhookSettings
from data import Database
from tests.conftest import BACKENDS, fresh_database_url
from tests.fakes import FakeClock
from tests.fakes_mail import RecordingMailer
from tests.fakes_webhooks import ScriptedTransport, TableResolver
from tests.harness import World, make_world

ALICE = AgentId("alice@agents.example")
BOB = AgentId("bob@agents.example")
HOOK = "https://hooks.example.com/chat"
WEBHOOKS = WebhookSettings(poll_interval=0.05, concurrency=4, per_target_concurrency=4)
MAIL = MailSettings(host="smtp.example.org", from_address="noreply@example.org", timeout=10.0)
WAIT = 60.0
"""Seconds a condition may take on a loaded machine (a poll interval is 0.05 s)."""


@dataclasses.dataclass
class Cluster:
    first: World
    second: World
    transport: ScriptedTransport
    mailer: RecordingMailer
    databases: tuple[Database, Database]
    backend: str


@pytest.fixture(params=BACKENDS)
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with fresh_database_url(request.param, tmp_path) as url:
        one, two = Database.from_url(url), Database.from_url(url)
        clock, transport, mailer = FakeClock(), ScriptedTransport(), RecordingMailer()
        resolver = TableResolver({"hooks.example.com": ["93.184.215.14"]})

        async def world(database: Database) -> World:
            return await make_world(
                uow=database.unit_of_work,
                clock=clock,
                webhooks=WEBHOOKS,
                resolver=resolver,
                transport=transport,
                mail=MAIL,
                mailer=mailer,
            )

        try:
            await one.migrate()
            yield Cluster(
                first=await world(one),
                second=await world(two),
                transport=transport,
                mailer=mailer,
                databases=(one, two),
                backend=request.param,
            )
        finally:
            await one.dispose()
            await two.dispose()


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await condition():
        assert loop.time() < deadline, f"{what}: not seen within {WAIT} s"
        await asyncio.sleep(0.02)


async def timeouts(world: World, conv: ConversationId) -> list[AgentId]:
    events = await world.history.history(conv)
    return [
        AgentId(e.agent.id or "")
        for e in events
        if isinstance(e, OfferClosed) and e.outcome is OfferOutcome.TIMED_OUT
    ]


async def offered(cluster: Cluster) -> ConversationId:
    """A chat offered to Alice by the first process (Bob is there, not ready)."""
    first = cluster.first
    await first.agent(ALICE, auto_accept=False)
    await first.agent(BOB, auto_accept=False, ready=False)
    conv = await first.start(await first.visitor(), text="hello")
    assert conv.offered_to == ALICE
    return conv.id


async def test_an_offer_outlives_the_process_that_made_it(cluster: Cluster) -> None:
    """No process holds an offer's deadline in memory: the other process's clock finds
    it in the database, one poll after it is due."""
    first_clock = OfferClock(cluster.first.services.offers, interval=0.05)
    second_clock = OfferClock(cluster.second.services.offers, interval=0.05)
    first_clock.start()
    second_clock.start()
    try:
        conv = await offered(cluster)
        await first_clock.stop()  # the process that made the offer is gone
        await cluster.databases[0].dispose()
        cluster.second.advance(20)

        async def timed_out() -> bool:
            return bool(await timeouts(cluster.second, conv))

        await until(timed_out, "the offer timed out in the other process")
        assert await timeouts(cluster.second, conv) == [ALICE]
    finally:
        await first_clock.stop()
        await second_clock.stop()


async def idle_chat(cluster: Cluster) -> ConversationId:
    """An active chat in which Alice wrote last: the visitor's alert is due in 60 s."""
    first = cluster.first
    await first.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, visitor_idle_alert=60)
    )
    await first.agent(ALICE)
    conv = await first.start(await first.visitor(), text="hello")
    await first.agent_says(ALICE, conv.id, "How can I help?")
    return conv.id


async def alerts(world: World, conv: ConversationId) -> int:
    events = await world.history.history(conv)
    return sum(
        1
        for e in events
        if isinstance(e, MessagePosted) and e.sender.kind is ParticipantKind.SYSTEM
    )


async def test_an_inactivity_alert_due_in_both_processes_is_posted_once(cluster: Cluster) -> None:
    conv = await idle_chat(cluster)
    cluster.first.advance(60)

    acted = await asyncio.gather(
        cluster.first.services.inactivity.run_due(),
        cluster.second.services.inactivity.run_due(),
    )

    assert sorted(acted) == [0, 1]
    assert await alerts(cluster.second, conv) == 1


async def test_an_inactivity_deadline_set_by_a_stopped_process_runs_in_the_other(
    cluster: Cluster,
) -> None:
    """The other process never heard of the deadline (it was set by the first one's
    message): its clock finds it when it looks again, at most ``longest`` later."""
    second_clock = InactivityClock(
        cluster.second.services.inactivity, clock=cluster.second.clock, longest=0.1
    )
    second_clock.start()
    try:
        conv = await idle_chat(cluster)
        await cluster.databases[0].dispose()
        cluster.second.advance(60)

        async def alerted() -> bool:
            return await alerts(cluster.second, conv) > 0

        await until(alerted, "the alert was posted by the other process")
        assert await alerts(cluster.second, conv) == 1
    finally:
        await second_clock.stop()


async def test_two_dispatchers_send_each_webhook_once(cluster: Cluster) -> None:
    first, second = cluster.first, cluster.second
    await first.services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url=HOOK, event_types=("message.created",))
    )
    await first.agent(ALICE)
    # Both processes stage deliveries (each is a visitor's or an agent's process).
    conv = await first.start(await first.visitor(), text="one")
    for n in range(6):
        world = first if n % 2 else second
        await world.agent_says(ALICE, conv.id, f"reply {n}")
    staged = await first.services.webhooks.backlog()
    assert staged >= 7

    dispatchers = [
        WebhookDispatcher(first.services.webhook_deliveries),
        WebhookDispatcher(second.services.webhook_deliveries),
    ]
    for dispatcher in dispatchers:
        dispatcher.start()
    try:

        async def all_sent() -> bool:
            return await first.services.webhooks.backlog() == 0

        await until(all_sent, "every delivery was made")
    finally:
        for dispatcher in dispatchers:
            await dispatcher.stop()

    ids = [post.headers["webhook-id"] for post in cluster.transport.posts]
    assert len(ids) == staged
    assert len(set(ids)) == len(ids), "a delivery was sent twice"


async def test_a_webhook_claimed_by_a_process_that_died_is_sent_by_the_other(
    cluster: Cluster,
) -> None:
    first, second = cluster.first, cluster.second
    await first.services.webhooks.create(
        CreateWebhook(tenant_id=DEFAULT_TENANT, url=HOOK, event_types=("message.created",))
    )
    await first.agent(ALICE)
    await first.start(await first.visitor(), text="one")
    # The first process claims the delivery and dies before it posts.
    (claimed,) = await first.services.webhook_deliveries.claim_due(10)
    await cluster.databases[0].dispose()
    dispatcher = WebhookDispatcher(second.services.webhook_deliveries)
    dispatcher.start()
    try:
        await asyncio.sleep(0.2)  # a few polls: the claim holds
        assert cluster.transport.posts == []
        second.advance(WEBHOOKS.lease)

        async def sent() -> bool:
            return await second.services.webhooks.backlog() == 0

        await until(sent, "the lapsed claim was sent by the other process")
    finally:
        await dispatcher.stop()
    assert [p.headers["webhook-id"] for p in cluster.transport.posts] == [claimed.delivery.id]


async def test_a_transcript_due_in_both_processes_is_mailed_once(cluster: Cluster) -> None:
    first, second = cluster.first, cluster.second
    await first.agent(ALICE)
    visitor = await first.visitor()
    conv = await first.start(visitor, text="Do you ship to Norway?")
    await first.services.transcript_requests.request(
        c.RequestTranscript(visitor_id=visitor, conversation_id=conv.id, email="ann@example.org")
    )

    await asyncio.gather(
        first.services.transcript_mails.send_due(), second.services.transcript_mails.send_due()
    )

    assert len(cluster.mailer.sent) == 1


async def test_a_purge_round_runs_in_one_process_at_a_time(cluster: Cluster) -> None:
    """While one process purges, the other skips its round; once the first is done (or
    gone: the lock goes with its connection) the other's next round purges."""
    if cluster.backend != "postgres":
        pytest.skip("SQLite is one process: its rounds need no turns")
    first, second = cluster.first, cluster.second
    await first.services.retention_settings.configure(
        ConfigureRetention(tenant_id=DEFAULT_TENANT, visitors_days=1)
    )
    await first.visitor()
    first.advance(2 * 86_400)
    purging, done = asyncio.Event(), asyncio.Event()

    async def a_long_purge() -> str:
        purging.set()
        await done.wait()
        return "purged"

    transactions = Transactions(cluster.databases[0].unit_of_work, EventPublisher())
    holder = asyncio.create_task(in_one_process(transactions, "retention", a_long_purge))
    try:
        await purging.wait()
        assert await second.services.retention.purge_round() == (), "both purged at once"
    finally:
        done.set()
        assert await holder == "purged"
    (purged,) = await second.services.retention.purge_round()
    assert purged.visitors == 1
