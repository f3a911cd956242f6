"""The widget's "Email transcript" in headless Chromium against the real server and a real
SMTP server: shown only when the server sends mail, it asks for an address when none is
known, says what the server refused, and the mail arrives."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from business.clock import SystemClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE
from chat_engine.engine import transcript_mail_dispatcher
from data import Database
from tests.harness import make_world
from tests.presentation.conftest import Server, StartServer
from tests.presentation.screenshots import screenshot
from tests.presentation.smtp_server import smtp_server

pytestmark = pytest.mark.e2e


async def opened(page: Page, url: str) -> None:
    await page.goto(f"{url}/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()


async def chatting(page: Page) -> None:
    """A first message sent and stored."""
    await page.get_by_test_id("input").fill("Hello, can you mail me this chat?")
    await page.get_by_test_id("send").click()
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)


async def test_the_visitor_asks_for_the_transcript_gives_an_address_and_gets_it(
    database: Database, start_server: StartServer, browser: Browser, widget_dist: Path
) -> None:
    async with smtp_server() as sink:
        mail = MailSettings(
            host="127.0.0.1",
            port=sink.port,
            tls="none",
            from_address="noreply@chat.example.org",
            timeout=5.0,
        )
        world = await make_world(
            uow=database.unit_of_work, clock=SystemClock(), queues=(DEFAULT_QUEUE,), mail=mail
        )
        server = await start_server(world=world)
        dispatcher = transcript_mail_dispatcher(world.services, mail)
        dispatcher.start()
        context = await browser.new_context(viewport={"width": 1100, "height": 760})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            bar = page.get_by_test_id("transcript-bar")
            await opened(page, server.url)
            # No conversation yet: nothing to send.
            await expect(page.get_by_test_id("status")).to_have_text("Ask us anything")
            await expect(bar).to_be_hidden()
            await chatting(page)
            await expect(bar).to_be_visible()
            await expect(page.get_by_test_id("transcript-form")).to_be_hidden()

            # The conversation knows no address: the widget asks for one.
            await page.get_by_test_id("transcript").click()
            await expect(page.get_by_test_id("transcript-form")).to_be_visible()
            await expect(page.get_by_test_id("transcript-status")).to_have_text(
                "Where should we send it?"
            )
            await expect(page.get_by_test_id("transcript")).to_be_hidden()

            # An address the browser lets through and the server refuses: it says why.
            await page.get_by_test_id("transcript-email").fill("ann@example")
            await page.get_by_test_id("transcript-send").click()
            await expect(page.get_by_test_id("transcript-status")).to_have_text(
                "the domain of the e-mail address is not valid"
            )
            await expect(page.get_by_test_id("transcript-form")).to_be_visible()

            await page.get_by_test_id("transcript-email").fill("ann@example.org")
            await page.get_by_test_id("transcript-send").click()
            await expect(page.get_by_test_id("transcript-status")).to_have_text(
                "The transcript is on its way to ann@example.org."
            )
            await expect(page.get_by_test_id("transcript-form")).to_be_hidden()
            await expect(page.get_by_test_id("transcript")).to_be_visible()
            [received] = await sink.wait_for(1)
            await screenshot(page, "widget-transcript.png")

            # The chat ends: the transcript can still be asked for.
            await page.get_by_test_id("end").click()
            await expect(page.get_by_test_id("status")).to_have_text("This chat has ended")
            await expect(bar).to_be_visible()
        finally:
            await context.close()
            await dispatcher.stop()

    assert received.rcpt_tos == ("ann@example.org",)
    assert "Hello, can you mail me this chat?" in received.raw.decode()
    assert errors == []


async def test_without_mail_there_is_no_transcript_button(
    server: Server, browser: Browser, widget_dist: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await opened(page, server.url)
        await chatting(page)
        await expect(page.get_by_test_id("transcript-bar")).to_be_hidden()
        await expect(page.get_by_test_id("transcript")).to_have_count(1)
    finally:
        await context.close()
