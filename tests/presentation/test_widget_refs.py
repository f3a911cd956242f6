"""The built widget in headless Chromium follows ``event.ref``s: a large agent message
delivered by reference shows in full, in its place even when a small message overtakes
its fetch, again after a reload (from ``sync``), and as a placeholder when it cannot be
fetched, without holding up what follows."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, Route, expect

from business.clock import SystemClock
from business.model import DEFAULT_QUEUE, ConversationId
from business.validation import Limits
from data import Database
from presentation import WebSettings
from tests.fakes import RecordingNotifier
from tests.harness import World, make_world
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _open_widget, _send, _texts

pytestmark = pytest.mark.e2e

BIG = "The terms, in full. " + "Clause after clause of small print. " * 250  # ~9 KB
PLACEHOLDER = "This message could not be loaded. Reload the page to try again."
REFS = "**/visitor-api/v1/conversations/*/events/*"


@pytest.fixture
async def world(database: Database) -> World:
    return await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        queues=(DEFAULT_QUEUE,),
        limits=Limits(max_text_length=20_000),
    )


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server(settings=WebSettings(event_inline_max_bytes=2048))


async def _chatting(page: Page, server: Server, world: World) -> ConversationId:
    """The visitor opened the widget and Alice took the chat; its conversation id."""
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    await ready_agent(world, name="Alice")
    await _open_widget(page, server)
    await _send(page, "Can you send me the terms?")
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    return _conversation_id(recorder)


async def test_a_large_message_by_reference_shows_in_full_and_in_order(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    conversation_id = await _chatting(page, server, world)
    agent = (await world.conversations.get_conversation(conversation_id)).agent_id
    assert agent is not None

    # The fetch of the large message is held back while a small one arrives after it.
    release = asyncio.Event()
    asked = asyncio.Event()
    fetched: list[str] = []

    async def held(route: Route) -> None:
        fetched.append(route.request.url)
        asked.set()
        await release.wait()
        await route.continue_()

    await page.route(REFS, held)
    await world.agent_says(agent, conversation_id, BIG)
    await world.agent_says(agent, conversation_id, "Let me know if anything is unclear.")
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await asyncio.wait_for(asked.wait(), 5)
    await asyncio.sleep(0.5)
    await expect(theirs).to_have_count(0)  # the small one waits for the large one
    release.set()

    await expect(theirs).to_have_count(2)
    texts = await _texts(page)
    assert [text for _, _, text in texts] == [
        "Can you send me the terms?",
        BIG,
        "Let me know if anything is unclear.",
    ]
    assert [seq for seq, _, _ in texts] == sorted((seq for seq, _, _ in texts), key=int)
    big_seq = texts[1][0]
    assert fetched[0].endswith(f"/visitor-api/v1/conversations/{conversation_id}/events/{big_seq}")
    await page.unroute(REFS)

    # After a reload the history comes from sync, the large message again by reference.
    await page.reload()
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(
        3,
        timeout=15_000,  # the loader, the manager, then the client and its sync
    )
    assert await _texts(page) == texts
    assert errors == []
    await context.close()


async def test_a_reference_that_cannot_be_fetched_becomes_a_placeholder(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    conversation_id = await _chatting(page, server, world)
    agent = (await world.conversations.get_conversation(conversation_id)).agent_id
    assert agent is not None
    attempts: list[str] = []

    async def down(route: Route) -> None:
        attempts.append(route.request.url)
        await route.fulfill(status=503, body="down for maintenance")

    await page.route(REFS, down)
    await world.agent_says(agent, conversation_id, BIG)
    await world.agent_says(agent, conversation_id, "And one more thing.")
    theirs = page.locator('[data-testid="message"][data-kind]')
    await expect(theirs.last.locator(".ce-bubble")).to_have_text(
        "And one more thing.", timeout=15_000
    )
    texts = [text for _, _, text in await _texts(page)]
    assert texts[1:] == [PLACEHOLDER, "And one more thing."]
    assert len(attempts) == 4  # retried, then given up on

    # Once the engine answers again, a reload brings the message itself.
    await page.unroute(REFS)
    await page.reload()
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(
        3,
        timeout=15_000,  # the loader, the manager, then the client and its sync
    )
    assert [text for _, _, text in await _texts(page)][1:] == [
        BIG,
        "And one more thing.",
    ]
    await context.close()


@pytest.fixture
async def shop() -> AsyncIterator[str]:
    """A customer's site on another origin (another port), whose page embeds the widget
    from the engine named in the query."""

    async def page(request: web.Request) -> web.Response:
        engine = request.query["engine"]
        html = (
            "<!doctype html><title>Shop</title><h1>Shop</h1>"
            f'<script async src="{engine}/widget/loader.js" data-tenant="default"></script>'
        )
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


async def test_the_widget_on_another_sites_page_fetches_through_cors(
    start_server: StartServer, world: World, browser: Browser, widget_dist: Path, shop: str
) -> None:
    server = await start_server(
        settings=WebSettings(event_inline_max_bytes=2048, cors_allowed_origins=(shop,))
    )
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{shop}/?engine={server.url}")
    await page.get_by_test_id("launcher").click()
    await _send(page, "Hello from the shop")
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    await world.agent_says(agent, _conversation_id(recorder), BIG)

    theirs = page.locator('[data-testid="message"][data-kind="agent"] .ce-bubble')
    await expect(theirs).to_have_text(BIG)
    await context.close()
