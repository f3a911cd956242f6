"""The attack corpus (``tests.attack_corpus``) through the whole product: a visitor in
Chromium on /demo types every payload, an agent in an XMPP client on Prosody gets each
as the exact text typed and sends each back; the widget shows them all as text and
nothing runs (no ``__xss`` call, no dialog, no error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from chat_engine.engine import Engine
from tests.attack_corpus import arm, texts
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_browser import send
from tests.e2e.test_chat_flow import WAIT, conversation_jid, online_agent

pytestmark = pytest.mark.e2e


async def test_the_corpus_goes_both_ways_through_prosody_as_text(
    engine: Engine,
    browser: Browser,
    widget_dist: Path,
    register_agent: RegisterAgent,
    cleanup: list[Any],
) -> None:
    agent = await online_agent(engine, register_agent("xss"), "Xavier", cleanup)
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    trap = await arm(context)
    page = await context.new_page()
    await page.goto(f"{engine.url}/demo")
    await page.get_by_test_id("launcher").click()

    await send(page, "Hello")
    offer = await agent.wait_for(lambda m: "Hello" in m.body, timeout=WAIT)
    conv_jid = conversation_jid(engine, offer.from_jid.removeprefix("c-").split("@", 1)[0])
    said = texts()
    for text in said:
        await send(page, text)
    for text in said:
        await agent.wait_body(text, sender=conv_jid)
    for text in said:
        agent.send(conv_jid, text)

    bubbles = page.locator('[data-testid="message"][data-seq] .ce-bubble')
    await expect(bubbles).to_have_count(1 + 2 * len(said))
    shown = await bubbles.evaluate_all("bs => bs.map(b => b.textContent)")
    assert shown[1 : 1 + len(said)] == said
    assert shown[1 + len(said) :] == said
    assert trap.clean(), trap
    await context.close()
