"""Outbound to a known contact, at the visitor's edge: a thread opened to a signed
``sub`` nobody had signed in as (``business.outbound_visitors``) is in that customer's
``threads.list``, unread, at their first signed visit, over the real server and
Socket.IO client with a real JWT, on SQLite and PostgreSQL."""

from __future__ import annotations

from business import commands as c
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.outbound_visitors import OpenThreadToVisitor
from tests.harness import World
from tests.presentation.conftest import StartServer, ready_agent
from tests.presentation.test_identity_socket import claims, configure, hs256
from tests.visitor_client import Visitor


async def test_the_customer_finds_the_thread_unread_at_their_first_signed_visit(
    start_server: StartServer, world: World
) -> None:
    await ready_agent(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    await configure(world, IdentityMode.OPTIONAL)
    opened = await world.services.outbound_visitor_threads.open_thread(
        OpenThreadToVisitor(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            agent_address="alice@agents.example",
            sub="customer-42",
            text="Your new card is on its way",
        )
    )
    server = await start_server(world=world)
    customer = Visitor(url=server.url)
    try:
        session = await customer.connect(
            {"tenant": "default", "identity": hs256(claims(sub="customer-42"))}
        )
        assert session["visitor_id"] == opened.visitor_id

        (listed,) = (await customer.ok("threads.list", {}))["threads"]

        assert listed["id"] == opened.id
        assert listed["unread"] == 1
        assert listed["preview"] == "Your new card is on its way"
        assert listed["state"] == "on_hold"
    finally:
        await customer.disconnect()
