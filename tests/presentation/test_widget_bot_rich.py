"""The rules bot's rich content in the built widget, in headless Chromium against the
real server: its greeting offers rich quick replies instead of the menu, a click answers
with the choice's payload, which chooses the menu option of that id, the answer comes
with a card whose button hands the chat to a person; an XMPP agent reads the bot's part
as plain lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business import commands as c
from business.events import MessagePosted, OfferMade
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from tests.business.test_bot_rich import RICH_CONFIG
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from xmpp_bridge.converters.offer import offer_text

pytestmark = pytest.mark.e2e


async def test_the_visitor_clicks_the_bots_rich_choices_and_gets_a_person(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, bot=RICH_CONFIG)
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
    await expect(bot.first.locator(".ce-bubble")).to_have_text(RICH_CONFIG.greeting)
    choices = bot.first.get_by_test_id("rich-choice")
    await expect(choices).to_have_text(["When are you open?", "Returns", "A person, please"])
    await expect(page.get_by_test_id("quick-reply")).to_have_count(0)  # no menu besides

    await choices.filter(has_text="When are you open?").click()
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(2)
    await expect(mine.nth(1).locator(".ce-bubble")).to_have_text("When are you open?")
    await expect(bot).to_have_count(2)
    await expect(bot.nth(1).locator(".ce-bubble")).to_have_text("We are open 9-17, Mon-Fri.")
    card = bot.nth(1).get_by_test_id("rich-card")
    await expect(card).to_contain_text("Opening hours")
    await expect(card.get_by_role("link", name="Store finder")).to_have_attribute(
        "href", "https://shop.example/stores"
    )

    await card.get_by_role("button", name="Talk to us").click()
    await expect(bot).to_have_count(3)
    await expect(bot.nth(2).locator(".ce-bubble")).to_have_text(RICH_CONFIG.handover_text)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")

    # Stored with the payloads; the agent's offer shows the bot's part as plain lines.
    answers = [
        (e.text, e.reply_to.payloads)
        for e in world.published()
        if isinstance(e, MessagePosted) and e.reply_to is not None
    ]
    assert answers == [("When are you open?", ("hours",)), ("Talk to us", ("person",))]
    [offer] = [e for e in world.published() if isinstance(e, OfferMade)]
    conversation = await world.conversations.get_conversation(offer.conversation_id)
    earlier = [e for e in await world.history.history(conversation.id) if e.pos < offer.pos]
    text = offer_text(conversation, offer, earlier)
    assert "  1) When are you open?\n  2) Returns\n  3) A person, please" in text
    assert "[card] Opening hours — Mon-Fri 9-17" in text
    assert "  Store finder <https://shop.example/stores>\n  1) Talk to us" in text
    assert "chose: 1) Talk to us" in text
    assert errors == []
    await context.close()
