"""Outbound to a known contact, at the visitor's edge: a thread opened to a signed
``sub`` nobody had signed in as (``business.outbound_visitors``) is in that customer's
``threads.list``, unread, at their first signed visit, over the real server and
Socket.IO client with a real JWT, on SQLite and PostgreSQL. A customer who was chatting
anonymously when the thread was opened keeps that chat at sign-in, beside the thread."""

from __future__ import annotations

from business import commands as c
from business.conversation import Conversation
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.outbound_visitors import OpenThreadToVisitor
from tests.harness import World
from tests.presentation.conftest import StartServer, ready_agent
from tests.presentation.test_identity_socket import claims, configure, hs256
from tests.visitor_client import Visitor


async def messaging_with_identities(world: World) -> None:
    await ready_agent(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    await configure(world, IdentityMode.OPTIONAL)


async def open_to_customer(world: World) -> Conversation:
    return await world.services.outbound_visitor_threads.open_thread(
        OpenThreadToVisitor(
            tenant_id=DEFAULT_TENANT,
            queue=DEFAULT_QUEUE,
            agent_address="alice@agents.example",
            sub="customer-42",
            text="Your new card is on its way",
        )
    )


async def test_the_customer_finds_the_thread_unread_at_their_first_signed_visit(
    start_server: StartServer, world: World
) -> None:
    await messaging_with_identities(world)
    opened = await open_to_customer(world)
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


async def test_an_anonymous_chat_goes_on_beside_the_thread_when_the_customer_signs_in(
    start_server: StartServer, world: World
) -> None:
    await messaging_with_identities(world)
    server = await start_server(world=world)
    browser = Visitor(url=server.url)
    try:
        anonymous = await browser.connect({"tenant": "default"})
        running = await browser.start("Where is my parcel?")
        opened = await open_to_customer(world)
        await browser.disconnect()

        signed = await browser.connect(
            {
                "tenant": "default",
                "visitor_token": anonymous["visitor_token"],
                "identity": hs256(claims(sub="customer-42")),
            }
        )

        assert signed["visitor_id"] == anonymous["visitor_id"]
        assert signed["visitor_token"] == anonymous["visitor_token"]
        listed = (await browser.ok("threads.list", {}))["threads"]
        assert {thread["id"] for thread in listed} == {running, opened.id}
        synced = await browser.ok("sync", {"conversation_id": running, "after_seq": 0})
        texts = [e.get("text") for e in synced["events"] if e["type"] == "message"]
        assert texts == ["Where is my parcel?"]
    finally:
        await browser.disconnect()
