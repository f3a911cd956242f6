"""The built widget with a bot-first queue, in headless Chromium against the real server:
the bot's messages look like the bot's, its quick replies are buttons under its newest
message, and a click sends the label as the visitor's message."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from tests.business.bot_support import BOT_CONFIG
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.screenshots import screenshot

pytestmark = pytest.mark.e2e


async def test_a_visitor_clicks_the_bots_quick_replies_and_gets_a_person(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=BOT_CONFIG)
    )
    await ready_agent(world, name="Alice")
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()

    await page.get_by_test_id("input").fill("hello")
    await page.get_by_test_id("send").click()

    bot = page.locator('[data-testid="message"][data-kind="bot"]')
    await expect(bot).to_have_count(1)
    await expect(bot.first.locator(".ce-bubble")).to_have_text(BOT_CONFIG.greeting)
    await expect(bot.first.locator(".ce-meta")).to_contain_text("Ava")
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Ava")
    buttons = page.get_by_test_id("quick-reply")
    await expect(buttons).to_have_text(["Opening hours", "Talk to a person"])
    # Styled as the bot's, not as an agent's.
    bot_colour = await bot.first.locator(".ce-bubble").evaluate(
        "node => getComputedStyle(node).backgroundColor"
    )
    assert bot_colour == "rgb(237, 242, 255)"

    await buttons.filter(has_text="Opening hours").click()

    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(2)
    await expect(mine.nth(1).locator(".ce-bubble")).to_have_text("Opening hours")
    await expect(bot).to_have_count(2)
    await expect(bot.nth(1).locator(".ce-bubble")).to_have_text("We are open 9-17, Mon-Fri.")
    # Only the newest message keeps its buttons.
    await expect(page.get_by_test_id("quick-replies")).to_have_count(1)
    await expect(bot.nth(1).get_by_test_id("quick-reply")).to_have_count(2)
    await screenshot(page, "widget-bot.png")

    await page.get_by_test_id("quick-reply").filter(has_text="Talk to a person").click()

    await expect(bot).to_have_count(3)
    await expect(bot.nth(2).locator(".ce-bubble")).to_have_text(BOT_CONFIG.handover_text)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    await expect(page.get_by_test_id("quick-reply")).to_have_count(0)

    # After a reload the history is the same, and no stale buttons come back.
    await page.reload()
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(6)
    await expect(page.get_by_test_id("quick-reply")).to_have_count(0)
    assert errors == []
    await context.close()
