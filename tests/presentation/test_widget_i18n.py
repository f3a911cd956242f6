"""Languages, accessibility and the JavaScript API of the built widget in headless
Chromium against the real server: the browser's language and the tenant's, Arabic right
to left, axe-core on the open widget, a keyboard-only chat, and ChatEngine.open / close /
on with calls queued before the widget loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from business.model import DEFAULT_TENANT, ConversationId
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.screenshots import screenshot

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "presentation/widget/node_modules/axe-core/axe.min.js"

# What the widget guide tells sites to paste before the loader: calls wait in a queue.
QUEUE_SNIPPET = """
window.ChatEngine = window.ChatEngine || {q: []};
["set", "open", "close", "on"].forEach(function (m) {
  ChatEngine[m] = ChatEngine[m] || function () {
    ChatEngine.q.push([m].concat([].slice.call(arguments)));
  };
});
window.seen = [];
ChatEngine.on("ready", function () { seen.push("ready"); });
ChatEngine.on("open", function () { seen.push("open"); });
ChatEngine.on("close", function () { seen.push("close"); });
ChatEngine.on("start", function (d) { seen.push("start"); });
ChatEngine.on("message", function (d) { seen.push("message:" + d.from.name + ":" + d.text); });
"""


FOCUSED_INPUT = """() => {
    const host = document.querySelector("[data-chat-engine-widget]");
    const active = host && host.shadowRoot.activeElement;
    return Boolean(active) && active.getAttribute("data-testid") === "input";
}"""


async def _serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page (the open widget's shadow
    root included: axe-core walks open shadow roots)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: npm ci in presentation/widget")
    if not await page.evaluate("typeof axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}));
        }"""
    )
    return found


async def _focused(page: Page) -> str | None:
    """The data-testid of the element focused inside the widget's shadow root."""
    testid: str | None = await page.evaluate(
        """() => {
            const host = document.querySelector("[data-chat-engine-widget]");
            const active = host && host.shadowRoot.activeElement;
            return active ? active.getAttribute("data-testid") : null;
        }"""
    )
    return testid


async def test_the_browsers_language_the_tenants_and_arabic_right_to_left(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    viewport: ViewportSize = {"width": 1100, "height": 760}
    german = await browser.new_context(locale="de-DE", viewport=viewport)
    page = await german.new_page()
    await page.goto(f"{server.url}/demo")
    launcher = page.get_by_test_id("launcher")
    await expect(launcher).to_have_attribute("aria-label", "Chat öffnen")
    host = page.locator("[data-chat-engine-widget]")
    await expect(host).to_have_attribute("lang", "de")
    await expect(host).to_have_attribute("dir", "ltr")
    await launcher.click()
    await expect(page.get_by_test_id("title")).to_have_text("Chatten Sie mit uns")
    await expect(page.get_by_test_id("input")).to_have_attribute(
        "placeholder", "Nachricht schreiben…"
    )
    await expect(page.get_by_test_id("end")).to_have_text("Chat beenden")
    await expect(page.get_by_test_id("close")).to_have_attribute("aria-label", "Chat schließen")
    await german.close()

    # The tenant's language wins over the browser's, and its own texts over the locale.
    await world.services.widget_configs.put(
        DEFAULT_TENANT, {"language": "ar", "texts": {"greeting": "أهلًا بك في متجرنا"}}
    )
    arabic = await browser.new_context(locale="de-DE", viewport=viewport)
    page = await arabic.new_page()
    await page.goto(f"{server.url}/demo")
    launcher = page.get_by_test_id("launcher")
    await expect(launcher).to_have_attribute("aria-label", "فتح المحادثة")
    host = page.locator("[data-chat-engine-widget]")
    await expect(host).to_have_attribute("dir", "rtl")
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] < 100, f"the launcher is not in the left corner: {box}"
    await launcher.click()
    window = page.get_by_test_id("window")
    await expect(window).to_be_visible()
    await expect(page.get_by_test_id("title")).to_have_text("تحدث معنا")
    await expect(page.locator(".ce-empty")).to_have_text("أهلًا بك في متجرنا")
    frame = await window.bounding_box()
    assert frame is not None
    assert frame["x"] < 100, f"the window is not on the left: {frame}"
    await page.get_by_test_id("input").fill("مرحبا")
    await page.get_by_test_id("send").click()
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)
    # Mirrored: the visitor's own bubble sits on the left side of the window.
    bubble = await mine.first.bounding_box()
    assert bubble is not None
    assert bubble["x"] - frame["x"] < frame["width"] / 3, (bubble, frame)
    assert await _serious_violations(page) == []
    await screenshot(page, "widget-rtl.png")
    await arabic.close()


async def test_keyboard_only_axe_core_and_the_javascript_api(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.add_init_script(QUEUE_SNIPPET)
    await page.goto(f"{server.url}/demo")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    # "ready" was asked for before the manager existed: the queue was replayed.
    await page.wait_for_function("window.seen.includes('ready')")

    # Keyboard only: Tab reaches the launcher, Enter opens, the input has the focus.
    for _ in range(40):
        if await _focused(page) == "launcher":
            break
        await page.keyboard.press("Tab")
    assert await _focused(page) == "launcher"
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("window")).to_be_visible()
    await page.wait_for_function(FOCUSED_INPUT)
    await page.keyboard.type("Hello from the keyboard")
    await page.keyboard.press("Enter")
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")

    # An incoming message lands in the live region and reaches the site's listener.
    log = page.locator('[role="log"][aria-live="polite"]')
    await expect(log).to_have_attribute("aria-label", "Messages")
    conversation = ConversationId(await page.evaluate("window.__chatEngineWidget.widget.conv.id"))
    await world.agent_says(agent, conversation, "Hi! How can I help?")
    await expect(log.locator('[data-kind="agent"]')).to_contain_text("Hi! How can I help?")
    await page.wait_for_function("window.seen.includes('message:Alice:Hi! How can I help?')")
    assert await _serious_violations(page) == []
    # The check does see inside the widget's shadow root: a button without a name there
    # is found.
    await page.evaluate(
        """() => document.querySelector("[data-chat-engine-widget]").shadowRoot
            .querySelector(".ce-form").append(document.createElement("button"))"""
    )
    assert "button-name" in {v["id"] for v in await _serious_violations(page)}

    # Escape closes and gives the focus back to the launcher.
    await page.get_by_test_id("input").focus()
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("window")).to_be_hidden()
    assert await _focused(page) == "launcher"

    # The site's own calls.
    await page.evaluate("ChatEngine.open()")
    await expect(page.get_by_test_id("window")).to_be_visible()
    await page.evaluate("ChatEngine.close()")
    await expect(page.get_by_test_id("window")).to_be_hidden()
    seen = await page.evaluate("window.seen")
    assert seen == [
        "ready",
        "open",
        "start",
        "message:Alice:Hi! How can I help?",
        "close",
        "open",
        "close",
    ]
    assert errors == []
    await context.close()
