"""Rich messages in the built widget, in headless Chromium against the real server: an
integrator sends a card carousel and a list picker through the REST API, the visitor
turns the carousel and picks with the keyboard alone, the choices are stored with their
payloads and an XMPP agent reads them by number."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business.events import MessagePosted
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import Server, ready_agent
from tests.xmpp_bridge import support
from tests.xmpp_bridge.support import body_of
from xmpp_bridge.converters import custom_to_stanza
from xmpp_bridge.custom import ConversationUpdate

pytestmark = pytest.mark.e2e

HELPER = {"kind": "bot", "name": "Helper"}
CAROUSEL = {
    "carousel": [
        {
            "title": "Rome",
            "text": "3 nights",
            "image_url": "https://img.example/rome.jpg",
            "image_alt": "The Colosseum",
            "buttons": [
                {"label": "Book Rome", "payload": "book-rome"},
                {"label": "Details", "url": "https://shop.example/rome"},
            ],
        },
        {
            "title": "Oslo",
            "text": "2 nights",
            "buttons": [{"label": "Book Oslo", "payload": "book-oslo"}],
        },
    ]
}
PICKER = {
    "list_picker": {
        "title": "Extras",
        "multiple": True,
        "items": [
            {"id": "bag", "label": "Extra bag", "description": "23 kg"},
            {"id": "seat", "label": "Seat choice"},
            {"id": "meal", "label": "Meal"},
        ],
    }
}


def _answers(world: World) -> list[MessagePosted]:
    return [e for e in world.published() if isinstance(e, MessagePosted) and e.reply_to is not None]


async def test_a_visitor_answers_a_carousel_and_a_list_by_keyboard(
    server: Server, world: World, browser: Browser, widget_dist: Path, api: ApiClient, keys: Keys
) -> None:
    await ready_agent(world, name="Alice")
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.route("https://img.example/**", lambda route: route.fulfill(status=404))
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()
    await page.get_by_test_id("input").fill("Where can I go?")
    await page.get_by_test_id("input").press("Enter")
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)
    [first] = [e for e in world.published() if isinstance(e, MessagePosted)]
    path = f"/conversations/{first.conversation_id}/messages"

    sent = await api.post(
        path,
        keys.bot,
        {"client_msg_id": "c-1", "sender": HELPER, "text": "Pick a trip", "rich": CAROUSEL},
    )
    assert sent.status == 201, sent.body
    carousel = page.get_by_test_id("rich-carousel")
    cards = carousel.get_by_test_id("rich-card")
    await expect(cards.nth(0)).to_be_visible()
    await expect(cards.nth(1)).to_be_hidden()
    image = cards.nth(0).locator("img")
    await expect(image).to_have_attribute("alt", "The Colosseum")
    await expect(cards.nth(0).get_by_role("link", name="Details")).to_have_attribute(
        "href", "https://shop.example/rome"
    )
    # Turned by keyboard: Enter on "Next card", the arrow keys anywhere in it.
    await carousel.get_by_role("button", name="Next card").focus()
    await page.keyboard.press("Enter")
    await expect(cards.nth(1)).to_be_visible()
    await expect(carousel.locator(".ce-carousel-position")).to_have_text("2 of 2")
    await page.keyboard.press("ArrowLeft")
    await expect(carousel.locator(".ce-carousel-position")).to_have_text("1 of 2")
    await page.keyboard.press("ArrowRight")
    await expect(cards.nth(0)).to_be_hidden()
    await cards.nth(1).get_by_role("button", name="Book Oslo").focus()
    await page.keyboard.press("Enter")

    await expect(mine).to_have_count(2)
    await expect(mine.nth(1).locator(".ce-bubble")).to_have_text("Book Oslo")
    chosen = cards.nth(1).get_by_role("button", name="Book Oslo")
    await expect(chosen).to_have_attribute("aria-pressed", "true")
    await expect(chosen).to_be_disabled()
    await expect(cards.nth(0).locator('[data-payload="book-rome"]')).to_be_disabled()

    sent = await api.post(
        path, keys.bot, {"client_msg_id": "c-2", "sender": HELPER, "text": "", "rich": PICKER}
    )
    assert sent.status == 201, sent.body
    picker = page.get_by_test_id("rich-list")
    await expect(picker.locator("legend")).to_have_text("Extras")
    await picker.get_by_role("checkbox", name="Extra bag — 23 kg").focus()
    await page.keyboard.press("Space")
    await picker.get_by_role("checkbox", name="Meal").focus()
    await page.keyboard.press("Space")
    await picker.get_by_role("button", name="Send choice").focus()
    await page.keyboard.press("Enter")
    await expect(mine).to_have_count(3)
    await expect(mine.nth(2).locator(".ce-bubble")).to_have_text("Extra bag, Meal")
    await expect(picker.get_by_role("checkbox", name="Seat choice")).to_be_disabled()

    # Stored with the payloads, and what the agent's XMPP client shows of it.
    answers = _answers(world)
    assert [(a.text, a.reply_to and a.reply_to.payloads) for a in answers] == [
        ("Book Oslo", ("book-oslo",)),
        ("Extra bag, Meal", ("bag", "meal")),
    ]
    conversation = support.make_conversation(last_seq=9, last_pos=9)
    said = []
    for answer in answers:
        update = ConversationUpdate(conversation=conversation, to=support.ALICE_JID, event=answer)
        [stanza] = custom_to_stanza(update, support.ADDRESSING)
        said.append(body_of(stanza))
    visitor = answers[0].sender.name
    assert said == [f"{visitor} chose: 2) Book Oslo", f"{visitor} chose: 1) Extra bag, 3) Meal"]

    # After a reload the choices are still shown as made.
    await page.reload()
    await expect(
        page.get_by_test_id("rich-list").get_by_role("checkbox", name="Meal")
    ).to_be_checked()
    await expect(
        page.get_by_test_id("rich-carousel").locator('[data-payload="book-oslo"]')
    ).to_have_attribute("aria-pressed", "true")
    assert errors == []
    await context.close()
