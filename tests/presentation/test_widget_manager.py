"""The loader and the chat manager in headless Chromium against the real server: the
tenant's configuration (maintenance, display modes) and the trigger chain (embedded,
continuation, messaging hook, configured triggers), as a visitor sees them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from business.model import DEFAULT_TENANT, ConversationId, QueueName
from presentation.settings import WebSettings
from tests.harness import World
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.screenshots import screenshot

pytestmark = pytest.mark.e2e

STORED = '[data-testid="message"][data-seq]'


def _invitation(item: str, text: str) -> dict[str, Any]:
    return {"id": item, "type": "invitation", "text": text}


def _on_demo(trigger: str, item: str, *more: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A trigger showing ``item`` on the product page (and, with ``more``, only when
    those conditions hold too)."""
    url = {"field": "url", "op": "matches", "value": "*/demo"}
    return {
        "id": trigger,
        "conditions": {"all": [url, *more]} if more else url,
        "action": {"type": "show", "item": item},
        **extra,
    }


async def _context(browser: Browser) -> BrowserContext:
    return await browser.new_context(viewport={"width": 1100, "height": 760})


async def _chain(page: Page) -> str:
    await page.wait_for_function("window.__chatEngineWidget && window.__chatEngineWidget.chain")
    chain: str = await page.evaluate("window.__chatEngineWidget.chain")
    return chain


async def _send(page: Page, text: str) -> None:
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()


async def test_in_maintenance_the_loader_shows_nothing_and_loads_nothing_more(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(DEFAULT_TENANT, {"active": False})
    context = await _context(browser)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    async with page.expect_response("**/visitor-api/v1/widget-config*") as answer:
        await page.goto(f"{server.url}/demo")
    assert (await (await answer.value).json())["active"] is False
    await page.wait_for_timeout(500)
    await expect(page.locator("[data-chat-engine-widget]")).to_have_count(0)
    assert not [url for url in requested if "manager.js" in url or "widget.js" in url]
    assert not [url for url in requested if "socket.io" in url]
    await context.close()


async def test_floating_by_default_with_the_client_loaded_only_on_demand(
    server: Server, browser: Browser, widget_dist: Path
) -> None:
    context = await _context(browser)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    assert await _chain(page) == "triggers"
    assert await page.evaluate("window.__chatEngineWidget.trigger") == "default"
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    # Page views alone load no chat client and make no visitor.
    assert not [url for url in requested if "widget.js" in url or "socket.io" in url]
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()
    assert [url for url in requested if "/widget/widget.js" in url]
    await context.close()


async def test_embedded_by_the_page_and_by_the_tenant(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo/embedded")
    window = page.locator("#help-chat").get_by_test_id("window")
    await expect(window).to_be_visible()
    assert await _chain(page) == "embedded"
    await expect(page.get_by_test_id("launcher")).to_have_count(0)
    await expect(page.get_by_test_id("close")).to_be_hidden()
    box = await window.bounding_box()
    frame = await page.locator("#help-chat").bounding_box()
    assert box is not None
    assert frame is not None
    assert abs(box["x"] - frame["x"]) < 2
    assert abs(box["height"] - frame["height"]) < 2
    await _send(page, "Hello from the help centre")
    await expect(page.locator(STORED)).to_have_count(1)
    await screenshot(page, "widget-embedded.png")

    # The tenant's own mode: embedded where the page has the element, floating elsewhere.
    await world.services.widget_configs.put(
        DEFAULT_TENANT, {"mode": "embedded", "embed_selector": ".product"}
    )
    other_context = await _context(browser)
    other = await other_context.new_page()
    await other.goto(f"{server.url}/demo")
    await expect(other.locator(".product").get_by_test_id("window")).to_be_visible()
    await other.goto(f"{server.url}/demo/checkout")
    await expect(other.get_by_test_id("launcher")).to_be_visible()
    assert await _chain(other) == "triggers"
    await other_context.close()
    await context.close()


async def test_a_missing_data_embed_element_falls_back_to_the_tenants_then_floating(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    # A page of the site whose snippet names an element it does not have.
    html = (
        '<!doctype html><html><body><div class="product" style="height:500px"></div>'
        f'<script src="{server.url}/widget/loader.js" data-tenant="default"'
        ' data-embed="#not-on-this-page" async></script></body></html>'
    )
    context = await _context(browser)
    await context.route(
        f"{server.url}/shop-page",
        lambda route: route.fulfill(status=200, content_type="text/html", body=html),
    )
    page = await context.new_page()
    await page.goto(f"{server.url}/shop-page")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    assert await _chain(page) == "triggers"

    await world.services.widget_configs.put(
        DEFAULT_TENANT, {"mode": "embedded", "embed_selector": ".product"}
    )
    await page.reload()
    await expect(page.locator(".product").get_by_test_id("window")).to_be_visible()
    assert await _chain(page) == "embedded"
    await context.close()


async def test_a_chat_continues_across_pages_open_or_minimised_as_it_was(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("invite", "Questions about the grinder?")],
            "triggers": [
                _on_demo("welcome", "invite"),
                {
                    "id": "anywhere",
                    "conditions": {"field": "time_on_page", "op": "at_least", "value": 1},
                    "action": {"type": "show", "item": "invite"},
                },
            ],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("invitation")).to_be_visible()
    await page.get_by_test_id("invitation-accept").click()
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    await _send(page, "Is the grinder quiet?")
    await expect(page.locator(STORED)).to_have_count(1)

    await page.get_by_test_id("nav-checkout").click()
    await page.wait_for_url("**/demo/checkout")
    assert await _chain(page) == "continuation"
    await expect(page.get_by_test_id("window")).to_be_visible()
    await expect(page.locator(STORED)).to_have_count(1)
    await page.get_by_test_id("close").click()
    await expect(page.get_by_test_id("window")).to_be_hidden()

    await page.get_by_test_id("nav-shop").click()
    await page.wait_for_url("**/demo")
    assert await _chain(page) == "continuation"
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    await expect(page.locator(STORED)).to_have_count(1)  # drawn, minimised
    await expect(page.get_by_test_id("window")).to_be_hidden()
    # Engaged: neither the product page's invitation nor the timed one fires.
    await page.wait_for_timeout(1500)
    await expect(page.get_by_test_id("invitation")).to_have_count(0)

    # After 24 hours without activity the visit's chat is no longer carried on.
    await page.evaluate(
        "localStorage.setItem('chat-engine:default:engaged',"
        " JSON.stringify({at: Date.now() - 25 * 3600 * 1000}))"
    )
    await page.evaluate("sessionStorage.clear()")
    await page.reload()
    assert await _chain(page) == "triggers"
    await expect(page.get_by_test_id("invitation")).to_be_visible()
    await context.close()


async def test_triggers_first_that_holds_wins_by_url_and_time_on_page(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    time = {"field": "time_on_page", "op": "at_least", "value": 2}
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [
                _invitation("late", "Still deciding? We can help."),
                _invitation("first", "Questions about the grinder?"),
                _invitation("second", "Never shown: an earlier trigger holds."),
            ],
            "triggers": [
                _on_demo("lingering", "late", time),
                _on_demo("product", "first"),
                _on_demo("shadowed", "second"),
            ],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    text = page.get_by_test_id("invitation-text")
    await expect(text).to_have_text("Questions about the grinder?")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    # Two seconds on the page: the earlier trigger holds now and takes over.
    await expect(text).to_have_text("Still deciding? We can help.", timeout=5000)
    await expect(page.get_by_test_id("invitation")).to_have_count(1)
    assert await page.evaluate("window.__chatEngineWidget.trigger") == "lingering"
    await screenshot(page, "widget-invitation.png")
    # Dismissed, it stays away on this page; the button remains.
    await page.get_by_test_id("invitation-dismiss").click()
    await page.wait_for_timeout(1500)
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    await expect(page.get_by_test_id("launcher")).to_be_visible()

    # Items show for the current page only: none of these patterns matches checkout.
    await page.get_by_test_id("nav-checkout").click()
    await page.wait_for_url("**/demo/checkout")
    await page.wait_for_timeout(2500)
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    assert await page.evaluate("window.__chatEngineWidget.trigger") == "default"
    await context.close()


async def test_time_on_page_counts_whole_seconds(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("two", "Two seconds in.")],
            "triggers": [
                _on_demo("exactly", "two", {"field": "time_on_page", "op": "equals", "value": 2})
            ],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("invitation-text")).to_have_text(
        "Two seconds in.", timeout=6000
    )
    assert await page.evaluate("window.__chatEngineWidget.trigger") == "exactly"
    await context.close()


async def test_no_trigger_fires_once_the_visitor_engaged_on_the_page(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("late", "Still there?")],
            "triggers": [
                _on_demo(
                    "lingering", "late", {"field": "time_on_page", "op": "at_least", "value": 2}
                )
            ],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()
    await page.wait_for_timeout(3000)
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    await context.close()


async def test_only_if_agents_are_available_asks_the_engine(
    start_server: StartServer, world: World, browser: Browser, widget_dist: Path
) -> None:
    # Not reused: the page is reloaded the moment the agent is ready.
    server = await start_server(settings=WebSettings(widget_availability_cache_seconds=0))
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("invite", "An agent is free to help you now.")],
            "triggers": [_on_demo("staffed", "invite", only_if_available=True, queue="support")],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    async with page.expect_response("**/visitor-api/v1/availability*") as answer:
        await page.goto(f"{server.url}/demo")
    assert await (await answer.value).json() == {"probability": 0}
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    assert await page.evaluate("window.__chatEngineWidget.trigger") == "default"
    await expect(page.get_by_test_id("invitation")).to_have_count(0)

    await ready_agent(world)
    await page.reload()
    await expect(page.get_by_test_id("invitation-text")).to_have_text(
        "An agent is free to help you now."
    )
    await context.close()


async def test_a_chat_started_from_a_trigger_goes_to_the_triggers_queue(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    sales = QueueName("sales")
    await world.services.tenants.ensure_tenant(DEFAULT_TENANT, name="Default", queues=(sales,))
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "items": [_invitation("invite", "Questions before you buy?")],
            "triggers": [_on_demo("presales", "invite", queue="sales")],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("invitation-accept").click()
    await _send(page, "Does it ship to Norway?")
    await expect(page.locator(STORED)).to_have_count(1)
    conv_id = await page.evaluate("window.__chatEngineWidget.widget.conv.id")
    async with world.uow() as uow:
        conv = await uow.conversations.get(ConversationId(conv_id))
    assert conv is not None
    assert conv.queue == sales
    await context.close()


async def test_the_messaging_hook_opens_an_open_thread_before_any_trigger(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {"items": [_invitation("invite", "Hello!")], "triggers": [_on_demo("welcome", "invite")]},
    )
    context = await _context(browser)
    await context.add_init_script(
        "window.ChatEngineHooks = {findOpenThread: async () => ({id: 'thread-1'})}"
    )
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("window")).to_be_visible()
    assert await _chain(page) == "messaging"
    assert await page.evaluate("window.__chatEngineWidget.thread.id") == "thread-1"
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    await context.close()


async def test_a_messaging_hook_that_never_answers_does_not_hold_up_the_triggers(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {"items": [_invitation("invite", "Hello!")], "triggers": [_on_demo("welcome", "invite")]},
    )
    context = await _context(browser)
    await context.add_init_script(
        "window.ChatEngineHooks = {findOpenThread: () => new Promise(() => {})}"
    )
    page = await context.new_page()
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("invitation-text")).to_have_text("Hello!", timeout=8000)
    assert await _chain(page) == "triggers"
    await context.close()


async def test_custom_variables_and_the_theme(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await world.services.widget_configs.put(
        DEFAULT_TENANT,
        {
            "theme": {"accent": "#aa3300"},
            "texts": {
                "title": "Ask Northwind",
                "greeting": "Welcome to Northwind! How can we help?",
                "input_placeholder": "Ask about your order…",
                "launcher_label": "Chat with Northwind",
            },
            "items": [_invitation("cart", "Need help with your order?")],
            "triggers": [
                {
                    "id": "full-cart",
                    "conditions": {"field": "var.cart_items", "op": "at_least", "value": 2},
                    "action": {"type": "show", "item": "cart"},
                }
            ],
        },
    )
    context = await _context(browser)
    page = await context.new_page()
    # Set by the page before the widget is there.
    early = await context.new_page()
    await early.add_init_script("window.ChatEngine = {vars: {cart_items: 4}}")
    await early.goto(f"{server.url}/demo/checkout")
    await expect(early.get_by_test_id("invitation-text")).to_have_text("Need help with your order?")
    await early.close()
    await page.goto(f"{server.url}/demo")
    launcher = page.get_by_test_id("launcher")
    await expect(launcher).to_be_visible()
    colour = await launcher.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(170, 51, 0)"
    await expect(launcher).to_have_attribute("aria-label", "Chat with Northwind")
    await page.evaluate("ChatEngine.set('cart_items', 1)")
    await page.wait_for_timeout(1200)
    await expect(page.get_by_test_id("invitation")).to_have_count(0)
    await page.evaluate("ChatEngine.set('cart_items', 3)")
    await expect(page.get_by_test_id("invitation-text")).to_have_text("Need help with your order?")
    await page.get_by_test_id("invitation-accept").click()
    await expect(page.get_by_test_id("title")).to_have_text("Ask Northwind")
    await expect(page.locator(".ce-empty")).to_have_text("Welcome to Northwind! How can we help?")
    await expect(page.get_by_test_id("input")).to_have_attribute(
        "placeholder", "Ask about your order…"
    )
    await context.close()
