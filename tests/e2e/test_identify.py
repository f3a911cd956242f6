"""``ChatEngine.identify`` mid-chat, as people use it: a visitor in Chromium on /demo, an
agent in an XMPP client on Prosody. The agent is told in the chat, ``!info`` shows the
new values, and the chat goes on in both directions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from business.model import ConversationId, ConversationState
from chat_engine.engine import Engine
from tests.e2e.conftest import RegisterAgent
from tests.e2e.test_browser import send
from tests.e2e.test_chat_flow import WAIT, conversation_jid, online_agent

pytestmark = pytest.mark.e2e


async def test_identify_mid_chat_tells_the_agent_and_the_chat_goes_on(
    engine: Engine,
    browser: Browser,
    widget_dist: Path,
    register_agent: RegisterAgent,
    cleanup: list[Any],
) -> None:
    agent = await online_agent(engine, register_agent("grace"), "Grace", cleanup)
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    warnings: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: warnings.append(msg.text) if msg.type == "warning" else None)
    await page.goto(f"{engine.url}/demo")
    # Called before the widget is there: the snippet's queue keeps it until it is.
    await page.evaluate(
        """() => {
            window.ChatEngine = window.ChatEngine || { q: [] };
            const queue = (window.ChatEngine.q = window.ChatEngine.q || []);
            queue.push(["identify", { extra: { source: "queued" } }]);
        }"""
    )
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()

    await send(page, "Hello, I need help with my order")
    offer = await agent.wait_for(lambda m: "help with my order" in m.body, timeout=WAIT)
    conversation_id = offer.from_jid.removeprefix("c-").split("@", 1)[0]
    conv_jid = conversation_jid(engine, conversation_id)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Grace")
    seen = len(agent.received)

    await page.evaluate(
        """() => ChatEngine.identify({
            name: "Ann Lee",
            email: "ann@example.com",
            avatar: "https://cdn.example/ann.png",
            extra: { plan: "pro", seats: 3 },
        })"""
    )
    notice = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and "details changed: name: Ann Lee" in m.body,
        timeout=WAIT,
        after=seen,
    )
    for said in ("name: Ann Lee", "e-mail: ann@example.com", "plan: pro", "seats: 3"):
        assert said in notice.body, notice.body

    # !info shows who the visitor is now (still anonymous: no signed identity).
    agent.send(conv_jid, "!info")
    info = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and m.body.startswith("Visitor: "), timeout=WAIT
    )
    assert "Visitor: Ann Lee" in info.body
    assert "Identity: anonymous (not verified)" in info.body
    for said in ("email: ann@example.com", "plan: pro", "seats: 3", "source: queued"):
        assert said in info.body, info.body

    # The chat goes on, both ways, in the same conversation.
    agent.send(conv_jid, "Thanks Ann, looking now.")
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs.last).to_contain_text("Thanks Ann, looking now.")
    await send(page, "Order 1234")
    await agent.wait_body("Order 1234", sender=conv_jid)
    conversation = await engine.services.conversations.get_conversation(
        ConversationId(conversation_id)
    )
    assert conversation.state is ConversationState.ACTIVE
    assert conversation.visitor_name == "Ann Lee"

    # A refused value is the site's to see, in the console; the chat is untouched.
    await page.evaluate("() => ChatEngine.identify({ email: 'not an address' })")
    for _ in range(100):
        if any("ChatEngine.identify" in w for w in warnings):
            break
        await asyncio.sleep(0.1)
    assert any("e-mail" in w for w in warnings if "ChatEngine.identify" in w), warnings
    assert errors == []
    await context.close()
