"""The built widget in headless Chromium: a card number the visitor types is shown
masked once it is stored (the start's first message and a later one), so what the
visitor sees is what was kept; nothing of it stays in the page or the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business.events import MessagePosted
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _open_widget, _send

pytestmark = pytest.mark.e2e

CARD = "4111 1111 1111 1111"
MASKED = "**** **** **** 1111"
IBAN = "DE89 3704 0044 0532 0130 00"


async def test_the_visitor_sees_their_card_number_masked(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _open_widget(page, server)

    await _send(page, f"my card is {CARD}")
    mine = page.locator('[data-testid="message"][data-kind="visitor"]')
    await expect(mine.first.locator(".ce-bubble")).to_have_text(f"my card is {MASKED}")
    await expect(mine.first).to_have_attribute("data-seq", "2")
    await _send(page, f"and {IBAN}, order 4111 1111 1111 1112")
    await expect(mine).to_have_count(2)
    await expect(mine.nth(1).locator(".ce-bubble")).to_have_text(
        "and **** **** **** **** **30 00, order 4111 1111 1111 1112"
    )
    await expect(page.locator('[data-pending="true"]')).to_have_count(0)
    page_text = await page.locator("body").inner_text()
    assert CARD not in page_text
    assert IBAN not in page_text
    stored = await page.evaluate("JSON.stringify(Object.assign({}, window.localStorage))")
    assert CARD not in stored
    assert IBAN not in stored

    # What was published (to the agent, webhooks) is the same masked text.
    cid = _conversation_id(recorder)
    texts = [
        e.text
        for e in recorder.events()
        if isinstance(e, MessagePosted) and e.conversation_id == cid
    ]
    assert f"my card is {MASKED}" in texts
    assert not any(CARD in t for t in texts)

    # After a reload the history from sync shows the same.
    await page.reload()
    await expect(mine.first.locator(".ce-bubble")).to_have_text(f"my card is {MASKED}")
    assert errors == []
    await context.close()
