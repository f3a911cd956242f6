"""The whole product as people use it: a visitor in Chromium on /demo, an agent in an XMPP
client on Prosody, the engine in between."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from business.model import ConversationId, ConversationState
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_chat_flow import WAIT, conversation_jid, online_agent

pytestmark = pytest.mark.e2e


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()


async def test_visitor_in_chromium_chats_with_an_xmpp_agent_and_sees_history_after_reload(
    engine: Engine,
    browser: Browser,
    widget_dist: Path,
    register_agent: RegisterAgent,
    cleanup: list[Any],
) -> None:
    agent = await online_agent(engine, register_agent("frank"), "Frank", cleanup)
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{engine.url}/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()

    await send(page, "Hi, is the blue one in stock?")
    offer = await agent.wait_for(lambda m: "Hi, is the blue one in stock?" in m.body, timeout=WAIT)
    conversation_id = offer.from_jid.removeprefix("c-").split("@", 1)[0]
    conv_jid = conversation_jid(engine, conversation_id)
    assert offer.from_jid == conv_jid
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Frank")

    agent.chat_state(conv_jid, "composing")
    await expect(page.get_by_test_id("typing")).to_be_visible()
    agent.send(conv_jid, "It is! Want me to reserve one?")
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs).to_have_count(1)
    await expect(theirs.first).to_contain_text("It is! Want me to reserve one?")

    await send(page, "Yes please <b>two</b>")
    await agent.wait_body("Yes please <b>two</b>", sender=conv_jid)
    rendered = page.locator('[data-testid="message"][data-seq]')
    await expect(rendered).to_have_count(3)
    before = await rendered.all_inner_texts()

    await page.reload()
    await expect(page.get_by_test_id("window")).to_be_visible()
    await expect(rendered).to_have_count(3)
    assert await rendered.all_inner_texts() == before
    await expect(page.get_by_test_id("messages").locator("b")).to_have_count(0)

    # Still the same conversation after the reload, in both directions.
    agent.send(conv_jid, "Reserved.")
    await expect(theirs).to_have_count(2)
    await send(page, "Thanks!")
    await agent.wait_body("Thanks!", sender=conv_jid)
    conversation = await engine.services.conversations.get_conversation(
        ConversationId(conversation_id)
    )
    assert conversation.state is ConversationState.ACTIVE
    assert errors == []
    await context.close()
