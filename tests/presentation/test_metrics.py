"""``GET /metrics`` after a scripted chat through the real services and app (SQLite and
PostgreSQL, a real Socket.IO visitor, a clock moved by hand): every counter moved by
exactly what happened, the scrape-time gauges say how things stand, and the report row
the end wrote holds exactly the chat's figures."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId, ParticipantKind
from business.report_metrics import ConversationMetrics, ConversationOutcome
from business.reports import ReportQuery
from data import Database
from presentation import MetricsSources
from presentation.metrics import WEBHOOK_BACKLOG_TTL
from tests.fakes import FakeClock
from tests.harness import ALICE, BOB, World, make_world
from tests.presentation.conftest import StartServer
from tests.visitor_client import Visitor

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
T0 = FakeClock().current
SUPPORT = {"tenant": DEFAULT_TENANT, "queue": DEFAULT_QUEUE}


@pytest.fixture
async def timed_world(database: Database) -> World:
    """The services on the real database with a clock the test moves."""
    return await make_world(uow=database.unit_of_work, clock=FakeClock(), queues=(DEFAULT_QUEUE,))


async def scrape(url: str, accept: str | None = None) -> tuple[str, str]:
    headers = {} if accept is None else {"Accept": accept}
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics", headers=headers) as r:
        assert r.status == 200
        return r.headers["Content-Type"], await r.text()


def parse(text: str) -> Samples:
    """Every sample by (name, sorted labels), without the counters' ``_created``."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.name.endswith("_created")
    }


def counters(samples: Samples) -> Samples:
    return {key: value for key, value in samples.items() if key[0].endswith("_total")}


def key(
    name: str, labels: Mapping[str, str] | None = None, **more: str
) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (name, tuple(sorted({**(labels or {}), **more}.items())))


async def send(
    visitor: Visitor, conversation_id: str, client_msg_id: str, text: str
) -> dict[str, object]:
    return await visitor.call(
        "message.send",
        {"conversation_id": conversation_id, "client_msg_id": client_msg_id, "text": text},
    )


async def test_a_scripted_chat_moves_the_counters_by_exactly_what_happened(
    timed_world: World, start_server: StartServer, database: Database
) -> None:
    world = timed_world
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, wrap_up_codes=("resolved",))
    )
    server = await start_server(
        world=world,
        metrics=MetricsSources(
            xmpp_connected=lambda: True, delivery_lag=lambda: 0.25, database_ping=database.ping
        ),
    )
    assert counters(parse((await scrape(server.url))[1])) == {}  # nothing happened yet

    await world.agent(ALICE, name="Alice", auto_accept=False)
    visitor = Visitor(url=server.url)
    try:
        await visitor.connect({"tenant": DEFAULT_TENANT})
        conversation_id = await visitor.start("Hello")  # T0: offered to Alice
        cid = ConversationId(conversation_id)
        world.advance(5)
        await world.services.offers.decline(c.DeclineOffer(agent_id=ALICE, conversation_id=cid))

        content_type, text = await scrape(server.url)
        assert content_type.startswith("text/plain; version=")
        middle = parse(text)
        assert middle[key("chat_conversations", SUPPORT, state="queued")] == 1
        assert middle[key("chat_conversations", SUPPORT, state="active")] == 0
        assert middle[key("chat_queue_waiting", SUPPORT)] == 1
        assert middle[key("chat_visitors_connected")] == 1
        assert middle[key("chat_visitor_sockets")] == 1

        world.advance(2)
        await world.agent(BOB, name="Bob", auto_accept=False)  # T0+7: offered to Bob
        world.advance(5)
        await world.services.offers.accept(c.AcceptOffer(agent_id=BOB, conversation_id=cid))
        world.advance(3)
        await world.agent_says(BOB, cid, "Hi, Bob here")  # T0+15
        world.advance(1)
        assert (await send(visitor, conversation_id, "m-1", "it grinds unevenly"))["ok"] is True
        assert (await send(visitor, conversation_id, "m-1", "it grinds unevenly"))["ok"] is True
        world.advance(1)
        assert (await send(visitor, conversation_id, "m-2", "since Monday"))["ok"] is True
        world.advance(2)
        await world.agent_says(BOB, cid, "Try setting 12")
        world.advance(30)
        await world.conversations.end_by_agent(
            c.EndConversationByAgent(agent_id=BOB, conversation_id=cid, wrap_up="resolved")
        )  # T0+49
        refused = await send(visitor, conversation_id, "m-3", "hello?")
        assert refused["ok"] is False  # not stored: not counted

        after = parse((await scrape(server.url))[1])
    finally:
        await visitor.disconnect()

    assert counters(after) == {
        key("chat_messages_total", SUPPORT, direction="visitor_to_agent"): 3,  # a retry is one
        key("chat_messages_total", SUPPORT, direction="agent_to_visitor"): 2,
        key("chat_conversations_started_total", SUPPORT): 1,
        key("chat_conversations_ended_total", SUPPORT): 1,
        key("chat_offers_total", SUPPORT, kind="route"): 2,
        key("chat_offer_outcomes_total", SUPPORT, kind="route", outcome="declined"): 1,
        key("chat_offer_outcomes_total", SUPPORT, kind="route", outcome="accepted"): 1,
    }
    assert after[key("chat_queue_wait_seconds_count", SUPPORT)] == 1
    assert after[key("chat_queue_wait_seconds_sum", SUPPORT)] == 12.0
    assert after[key("chat_queue_wait_seconds_bucket", SUPPORT, le="10.0")] == 0
    assert after[key("chat_queue_wait_seconds_bucket", SUPPORT, le="15.0")] == 1
    for state in ("queued", "active", "on_hold"):
        assert after[key("chat_conversations", SUPPORT, state=state)] == 0
    assert after[key("chat_queue_waiting", SUPPORT)] == 0
    assert after[key("chat_xmpp_link_up")] == 1
    assert after[key("chat_agent_delivery_lag_seconds")] == 0.25
    assert after[key("chat_database_up")] == 1
    assert 0 < after[key("chat_database_ping_seconds")] < 5
    assert after[key("chat_webhook_backlog")] == 0

    page = await world.services.reports.conversations(ReportQuery(tenant_id=DEFAULT_TENANT))
    assert page.next_cursor is None
    assert list(page.reports) == [
        ConversationMetrics(
            conversation_id=cid,
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            visitor_id=visitor.session["visitor_id"],
            agent_id=BOB,
            agent_name="Bob",
            created_at=T0,
            assigned_at=T0 + timedelta(seconds=12),
            ended_at=T0 + timedelta(seconds=49),
            ended_by=ParticipantKind.AGENT,
            wait_seconds=12.0,
            first_response_seconds=3.0,
            handle_seconds=37.0,
            messages_visitor=3,
            messages_agent=2,
            transfers=0,
            bot_handled=False,
            wrap_up="resolved",
            outcome=ConversationOutcome.ANSWERED,
        )
    ]


async def test_each_app_counts_in_a_registry_of_its_own_and_only_while_it_runs(
    world: World, start_server: StartServer
) -> None:
    first = await start_server()
    await world.agent(ALICE, name="Alice")
    visitor_id = await world.visitor()
    await world.start(visitor_id, "hello")
    second = await start_server()  # after the start: it saw none of it

    started = key("chat_conversations_started_total", SUPPORT)
    assert parse((await scrape(first.url))[1])[started] == 1
    assert started not in parse((await scrape(second.url))[1])
    # Without sources, their series are absent rather than made up.
    names = {name for name, _ in parse((await scrape(second.url))[1])}
    assert not names & {"chat_xmpp_link_up", "chat_agent_delivery_lag_seconds", "chat_database_up"}
    assert "chat_webhook_backlog" in names


async def test_openmetrics_when_the_scraper_asks_for_it(start_server: StartServer) -> None:
    server_url_metrics = (await start_server()).url
    content_type, text = await scrape(
        server_url_metrics, "application/openmetrics-text; version=1.0.0"
    )
    assert content_type.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")


async def test_a_source_that_fails_leaves_its_series_out_not_the_scrape(
    start_server: StartServer,
) -> None:
    async def broken_ping() -> bool:
        raise OSError("connection refused")

    async def backlog() -> int:
        return 7

    server = await start_server(
        metrics=MetricsSources(database_ping=broken_ping, webhook_backlog=backlog)
    )
    samples = parse((await scrape(server.url))[1])
    assert samples[key("chat_database_up")] == 0
    assert key("chat_database_ping_seconds") not in samples
    assert samples[key("chat_webhook_backlog")] == 7
    assert samples[key("chat_queue_waiting", SUPPORT)] == 0


async def test_the_webhook_backlog_is_read_once_for_a_few_seconds(
    start_server: StartServer,
) -> None:
    clock = [1000.0]
    reads: list[int] = []

    async def backlog() -> int:
        reads.append(len(reads) + 1)
        return 10 * len(reads)

    server = await start_server(
        metrics=MetricsSources(webhook_backlog=backlog, timer=lambda: clock[0])
    )
    first = parse((await scrape(server.url))[1])
    clock[0] += WEBHOOK_BACKLOG_TTL - 0.5
    second = parse((await scrape(server.url))[1])
    assert (first[key("chat_webhook_backlog")], second[key("chat_webhook_backlog")]) == (10, 10)
    assert reads == [1]

    clock[0] += 1.0  # older than the TTL: read again
    third = parse((await scrape(server.url))[1])
    assert third[key("chat_webhook_backlog")] == 20
    assert reads == [1, 2]
