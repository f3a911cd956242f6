"""Tracking in headless Chromium against the real server: the chat manager records the
visit in the browser and sends nothing of it until the visitor engages; then the start
carries it with the trigger, and a single-page app's navigation sends one update."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Browser, Request, WebSocket, expect

from business.conversation import Conversation
from business.model import DEFAULT_TENANT, ConversationId
from business.visit import ChainStep, StartedBy
from tests.harness import World
from tests.presentation.conftest import Server
from tests.presentation.test_widget_manager import STORED, _context, _invitation, _on_demo, _send

pytestmark = pytest.mark.e2e


async def _stored(world: World, conv_id: str) -> Conversation:
    return await world.conversations.get_conversation(ConversationId(conv_id))


async def test_the_visit_goes_out_only_once_engaged_then_follows_the_visitor(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("invite", "Questions about the grinder?")],
            "triggers": [_on_demo("product-help", "invite")],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    sent: list[str] = []  # every request body and WebSocket frame the page sent

    def on_request(request: Request) -> None:
        sent.append(f"{request.url} {request.post_data or ''}")

    def on_socket(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: sent.append(str(payload)))

    page.on("request", on_request)
    page.on("websocket", on_socket)

    # Two pages of the demo site before engaging: recorded here, sent nowhere.
    await page.goto(f"{server.url}/demo/checkout")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("invitation")).to_be_visible()
    pages = await page.evaluate("JSON.parse(localStorage.getItem('chat-engine:default:pages'))")
    assert [p["url"].removeprefix(server.url) for p in pages] == ["/demo/checkout", "/demo"]
    assert pages[0]["title"].startswith("Checkout")
    assert not [s for s in sent if "socket.io" in s or "Checkout" in s or "pages" in s]

    # The site sets more custom variables than the engine keeps, one with too long a
    # name: the chat still starts, with those that fit.
    await page.evaluate(
        "ChatEngine.set('x'.repeat(150), 'long');"
        "for (let i = 0; i < 60; i++) ChatEngine.set('v' + i, i)"
    )

    # Engaged: the start carries both pages and the trigger that invited the chat.
    await page.get_by_test_id("invitation-accept").click()
    await _send(page, "Does it grind fine enough for espresso?")
    await expect(page.locator(STORED)).to_have_count(1)
    conv_id = await page.evaluate("window.__chatEngineWidget.widget.conv.id")
    conv = await _stored(world, conv_id)
    assert conv.started_by == StartedBy(chain=ChainStep.TRIGGERS, trigger="product-help")
    assert conv.context.visit_count == 1
    assert conv.context.pages is not None
    assert [p.url.removeprefix(server.url) for p in conv.context.pages] == [
        "/demo/checkout",
        "/demo",
    ]
    assert conv.context.pages[0].title is not None
    assert conv.context.pages[0].title.startswith("Checkout")
    assert conv.context.page_title is not None
    assert conv.context.page_title.startswith("Burr Grinder Pro")
    assert len(conv.context.custom) == 50
    assert conv.context.custom["v0"] == "0"
    assert "x" * 150 not in conv.context.custom

    # A single-page app's navigation and its new title: one coalesced update.
    await page.evaluate(
        "history.pushState({}, '', '/demo?step=grind-size'); document.title = 'Grind size'"
    )
    for _ in range(50):
        conv = await _stored(world, conv_id)
        if conv.context.page_url and conv.context.page_url.endswith("step=grind-size"):
            break
        await asyncio.sleep(0.1)
    assert conv.context.page_url == f"{server.url}/demo?step=grind-size"
    assert conv.context.page_title == "Grind size"
    assert conv.context.pages is not None
    assert [(p.url.removeprefix(server.url), p.title) for p in conv.context.pages][-1] == (
        "/demo?step=grind-size",
        "Grind size",
    )
    assert len(conv.context.pages) == 3
    await page.wait_for_timeout(700)  # a second update would have gone by now
    assert len([s for s in sent if '"context.update"' in s]) == 1
    await context.close()
