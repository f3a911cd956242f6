"""Items online and offline, and the offline message form, in headless Chromium against
the real server: with nobody ready an item shows its offline variant (or hides), the
visitor leaves a message through the form, the first agent who becomes ready is offered
it and answers, and the visitor's next visit shows the answer; with an agent free the
item shows its online variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from business import commands as c
from business.model import DEFAULT_TENANT, AgentId, ConversationId
from presentation.settings import WebSettings
from tests.harness import World
from tests.presentation.conftest import StartServer
from tests.presentation.screenshots import screenshot
from tests.presentation.test_widget_manager import STORED, _chain, _context, _on_demo

pytestmark = pytest.mark.e2e

ALICE = AgentId("alice@agents.example")
CONFIG = {
    "items": [
        {
            "id": "invite",
            "type": "invitation",
            "text": "Questions about the grinder? We're here.",
            "offline": {"text": "We're away - leave us a message."},
        },
        {"id": "button", "type": "button", "offline": "hide"},
    ],
    "triggers": [_on_demo("welcome", "invite")],
}


async def test_offline_item_form_answer_on_next_visit_and_the_online_item(
    start_server: StartServer, world: World, browser: Browser, widget_dist: Path
) -> None:
    # Not cached: the availability changes within the test.
    server = await start_server(settings=WebSettings(widget_availability_cache_seconds=0))
    await world.services.widget_configs.put(DEFAULT_TENANT, CONFIG)
    context = await _context(browser)
    page = await context.new_page()
    sent: list[str] = []  # what the widget sent over Socket.IO
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))

    # Nobody is ready: the default button's offline variant hides it ...
    await page.goto(f"{server.url}/demo/checkout")
    await expect(page.locator("[data-chat-engine-widget]")).to_be_attached()
    await page.wait_for_timeout(500)
    await expect(page.get_by_test_id("launcher")).to_have_count(0)
    # ... and the invitation shows its offline variant, which opens the form.
    await page.goto(f"{server.url}/demo")
    invitation = page.get_by_test_id("invitation")
    await expect(invitation).to_have_attribute("data-variant", "offline")
    await expect(page.get_by_test_id("invitation-text")).to_have_text(
        "We're away - leave us a message."
    )
    accept = page.get_by_test_id("invitation-accept")
    await expect(accept).to_have_text("Leave a message")
    await accept.click()
    form = page.get_by_test_id("offline-form")
    await expect(form).to_be_visible()
    await expect(page.get_by_test_id("input")).to_be_hidden()
    name = page.get_by_test_id("offline-name")
    await expect(name).to_be_focused()
    await expect(form.get_by_label("Your e-mail address")).to_be_visible()  # labelled

    # Checked in the browser first, then by keyboard alone.
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("offline-error")).to_have_text("Please enter your name.")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await page.keyboard.type("Ann Smith")
    await page.keyboard.press("Tab")
    await page.keyboard.type("ann-at-example.org")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Does the grinder ship to Norway?")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("offline-error")).to_contain_text("e-mail address")
    await page.get_by_test_id("offline-email").fill("ann@example.org")
    await expect(page.get_by_test_id("offline-error")).to_have_text("")  # corrected
    await screenshot(page, "widget-offline-form.png")
    await page.get_by_test_id("offline-send").click()

    # Stored as a queued conversation, shown like a chat.
    await expect(form).to_be_hidden()
    await expect(page.locator(STORED)).to_have_count(1)
    await expect(page.get_by_test_id("offline-sent")).to_contain_text("Message sent")
    conv_id = ConversationId(await page.evaluate("window.__chatEngineWidget.widget.conv.id"))
    # It carried the visit's context, as a start does: no update was needed after it.
    [leave] = [_event(frame) for frame in sent if '"offline.leave"' in frame]
    assert leave["context"]["visit_count"] == 1
    assert [p["url"] for p in leave["context"]["pages"]][-2:] == [
        f"{server.url}/demo/checkout",
        f"{server.url}/demo",
    ]
    assert not [frame for frame in sent if '"context.update"' in frame]
    await page.close()  # the visitor leaves

    # The first agent who becomes ready is offered it, takes it and answers.
    await world.agent(ALICE, name="Alice", max_chats=5, auto_accept=False)
    async with world.uow() as uow:
        offered = await uow.conversations.get(conv_id)
    assert offered is not None
    assert offered.offline
    assert offered.offered_to == ALICE
    assert offered.context.pages is not None
    assert offered.context.pages[-1].url == f"{server.url}/demo"
    await world.services.offers.accept(c.AcceptOffer(agent_id=ALICE, conversation_id=conv_id))
    await world.agent_says(ALICE, conv_id, "Yes, in three days.")

    # The next visit, days later (the visit and its chat record have lapsed; a new tab):
    # the answer is there, the window opens to show it.
    page = await context.new_page()
    await page.goto(f"{server.url}/widget/loader.js")  # the site's origin, no widget
    assert await page.evaluate("localStorage.getItem('chat-engine:default:offline')")
    await page.evaluate("localStorage.removeItem('chat-engine:default:engaged')")
    await page.goto(f"{server.url}/demo/checkout")
    await expect(page.get_by_test_id("window")).to_be_visible()
    assert await _chain(page) == "continuation"
    answer = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(answer).to_contain_text("Yes, in three days.")
    await expect(page.locator(STORED)).to_have_count(2)
    await screenshot(page, "widget-offline-answer.png")
    # Seen: it is forgotten, and this visit goes on like any other chat.
    assert await page.evaluate("localStorage.getItem('chat-engine:default:offline')") is None
    await context.close()

    # An agent is free: a new visitor sees the online variant.
    other = await _context(browser)
    fresh = await other.new_page()
    await fresh.goto(f"{server.url}/demo")
    await expect(fresh.get_by_test_id("invitation")).to_have_attribute("data-variant", "online")
    await expect(fresh.get_by_test_id("invitation-text")).to_have_text(
        "Questions about the grinder? We're here."
    )
    await expect(fresh.get_by_test_id("invitation-accept")).to_have_text("Chat now")
    await other.close()


def _event(frame: str) -> dict[str, Any]:
    """The payload of a Socket.IO event frame (``42<ack id>["name", payload]``)."""
    name_and_payload = json.loads(frame[frame.index("[") :])
    payload = name_and_payload[1]
    assert isinstance(payload, dict)
    return payload
