"""Opening hours at the visitor's edge: ``conversation.start`` in a closed queue is acked
with ``queue_closed`` and the next opening, over the real server and Socket.IO client,
on SQLite and PostgreSQL, with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, TenantId
from business.opening_hours import check_opening_hours, parse_closed_dates, parse_weekly
from data.database import Database
from tests.fakes import FakeClock
from tests.harness import make_world
from tests.presentation.conftest import StartServer, ready_agent
from tests.visitor_client import Visitor

# Thursday 2026-11-26, 18:00 in Berlin: the office closed at 17:30.
EVENING = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


async def test_a_start_in_a_closed_queue_gets_queue_closed_with_the_next_opening(
    start_server: StartServer, database: Database
) -> None:
    clock = FakeClock(EVENING)
    world = await make_world(
        uow=database.unit_of_work,
        clock=clock,
        queues=(DEFAULT_QUEUE,),
        tenants={TenantId("other"): "Other shop"},
    )
    await ready_agent(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            opening_hours=check_opening_hours(
                "Europe/Berlin",
                parse_weekly("mon-fri 09:00-17:30"),
                parse_closed_dates("2026-12-25"),
            ),
        )
    )
    server = await start_server(world=world)
    visitor = Visitor(url=server.url)
    try:
        await visitor.connect({"tenant": "default"})
        published_before = len(world.published())
        ack = await visitor.call(
            "conversation.start", {"message": {"client_msg_id": "m-1", "text": "hello?"}}
        )
        assert ack["ok"] is False
        assert ack["error"]["code"] == "queue_closed"
        assert ack["error"]["opens_at"] == "2026-11-27T08:00:00Z"
        assert "2026-11-27T09:00+01:00" in ack["error"]["message"]
        assert len(world.published()) == published_before
        # The widget's availability says nobody answers, ready agent or not.
        assert await world.services.widget_configs.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 0

        clock.current = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 09:00 Berlin
        assert await world.services.widget_configs.availability(DEFAULT_TENANT, DEFAULT_QUEUE) == 1
        started = await visitor.call(
            "conversation.start", {"message": {"client_msg_id": "m-1", "text": "hello?"}}
        )
        assert started["ok"] is True, started
    finally:
        await visitor.disconnect()
