"""The built widget in headless Chromium through a drain and a restart: the chat goes on
during the grace period, and once the draining server has gone the widget reconnects by
itself to the one started in its place and syncs what it missed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from presentation import WebSettings, create_app, drain_visitors
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.conftest import ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _send, _texts

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def serving(world: World, port: int) -> AsyncIterator[tuple[str, web.Application]]:
    """An engine's web edge on ``port`` (0: any), over ``world``'s database."""
    sock = socket.create_server(("127.0.0.1", port))  # SO_REUSEADDR: the same port again
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(services=world.services, settings=WebSettings(public_url=url))
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.SockSite(runner, sock).start()
        yield url, app
    finally:
        await runner.cleanup()


async def test_the_widget_chats_through_a_drain_then_reconnects_to_the_restarted_server(
    world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')

    async with serving(world, 0) as (url, app):
        port = int(url.rsplit(":", 1)[1])
        await page.goto(f"{url}/demo")
        await page.get_by_test_id("launcher").click()
        await _send(page, "hello?")
        await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
        conversation_id = _conversation_id(recorder)

        cut_short = asyncio.Event()
        draining = asyncio.create_task(drain_visitors(app, grace=60, cut_short=cut_short))
        # During the grace period the chat goes on both ways, acked (a seq) and pushed.
        await _send(page, "still there?")
        await expect(mine).to_have_count(2)
        await world.agent_says(agent, conversation_id, "yes, during the drain")
        await expect(theirs).to_have_count(1)
        cut_short.set()
        await asyncio.wait_for(draining, 10)
        await expect(page.get_by_test_id("status")).to_have_text("Reconnecting…")

    # Stored while no server was up: only a sync can bring it.
    await world.agent_says(agent, conversation_id, "after the restart")
    async with serving(world, port):
        await expect(theirs).to_have_count(2, timeout=15_000)
        await expect(theirs.nth(1).locator(".ce-bubble")).to_have_text("after the restart")
        await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
        seqs = [seq for seq, _, _ in await _texts(page)]
        assert len(seqs) == len(set(seqs)) == 4
        await context.close()
