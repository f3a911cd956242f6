"""Issue 10 on the real parts: the engine, a real Prosody, a real XMPP agent client and
the built widget in headless Chromium. A messaging thread the agent answers, locks,
unlocks and follows up with a new thread; files both ways (the visitor's through the
widget, the agent's through Prosody's XEP-0363 upload service); and a rich canned
response the visitor answers from the keyboard, read by the agent as text."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, FilePayload, Page, expect

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.cli import main
from chat_engine.engine import Engine
from chat_engine.prosody import ProsodyServer
from tests.e2e.agent import Received, ScriptedAgent
from tests.e2e.conftest import RegisterAgent, sharing_account
from tests.e2e.test_chat_flow import WAIT, online_agent
from tests.presentation.test_widget_files import _png
from xmpp_bridge import texts_threads

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4 the wiring diagram"
SOLVED = {
    "quick_replies": [
        {"label": "Yes, solved", "payload": "solved"},
        {"label": "No, still broken", "payload": "broken"},
    ]
}


async def open_widget(browser: Browser, engine: Engine) -> tuple[BrowserContext, Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{engine.url}/demo")
    await page.get_by_test_id("launcher").click()
    await expect(page.get_by_test_id("window")).to_be_visible()
    return context, page, errors


async def visitor_writes(page: Page, agent: ScriptedAgent, text: str) -> tuple[str, Received]:
    """The visitor sends ``text`` from the widget; the conversation's JID and the offer
    (or message) the agent got with it."""
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()
    got = await agent.wait_for(lambda m: text in m.body, timeout=WAIT)
    return got.from_jid, got


def agent_messages(page: Page) -> Any:
    return page.locator('[data-testid="message"][data-kind="agent"]')


async def test_a_messaging_thread_answered_locked_unlocked_and_followed_up(
    engine: Engine,
    browser: Browser,
    widget_dist: Path,
    register_agent: RegisterAgent,
    cleanup: list[Any],
) -> None:
    await engine.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    agent = await online_agent(engine, register_agent("mia"), "Mia", cleanup)
    context, page, errors = await open_widget(browser, engine)

    conv_jid, offer = await visitor_writes(page, agent, "Where is my order?")
    # The agent's client tells a thread the visitor started from one the agent opened.
    assert "identity_initiated_thread: true" in offer.body
    await expect(page.get_by_test_id("end")).to_be_hidden()  # a thread is not the visitor's to end
    agent.send(conv_jid, "It ships tomorrow.")
    await expect(agent_messages(page).filter(has_text="It ships tomorrow.")).to_be_visible()

    seen = len(agent.received)
    agent.send(conv_jid, "!lock")
    await agent.wait_for(lambda m: m.body == texts_threads.THREAD_LOCKED, after=seen, timeout=WAIT)
    await expect(page.get_by_test_id("locked-note")).to_be_visible()
    await expect(page.get_by_test_id("input")).to_be_disabled()
    await expect(page.get_by_test_id("send")).to_be_disabled()
    await expect(page.get_by_test_id("attach")).to_be_disabled()

    agent.send(conv_jid, "!unlock")
    await expect(page.get_by_test_id("locked-note")).to_be_hidden()
    await expect(page.get_by_test_id("input")).to_be_enabled()
    conv_jid_again, _ = await visitor_writes(page, agent, "Thanks, and the invoice?")
    assert conv_jid_again == conv_jid

    # The visitor looks at their threads; the agent opens another one to them.
    await page.get_by_test_id("threads-back").click()
    threads = page.get_by_test_id("thread")
    await expect(threads).to_have_count(1)
    seen = len(agent.received)
    agent.send(conv_jid, "!newthread Some follow-up")
    await agent.wait_for(lambda m: m.body == texts_threads.THREAD_OPENED, after=seen, timeout=WAIT)
    # The new thread comes to the agent as a chat of theirs, flagged as not the visitor's.
    opened = await agent.wait_for(
        lambda m: m.from_jid not in ("", conv_jid) and m.body.startswith("New chat from"),
        after=seen,
        timeout=WAIT,
    )
    assert "identity_initiated_thread: false" in opened.body
    await expect(threads).to_have_count(2)
    new_id = opened.from_jid.removeprefix("c-").split("@", 1)[0]
    new_item = page.locator(f'[data-thread-id="{new_id}"]')
    await expect(new_item).to_contain_text("Some follow-up")
    await expect(new_item.get_by_test_id("thread-unread")).to_have_text("1")

    # Opened, the follow-up reads as the agent's, and the visitor's answer reaches them.
    await new_item.click()
    await expect(agent_messages(page).filter(has_text="Some follow-up")).to_be_visible()
    answered_in, _ = await visitor_writes(page, agent, "Great, thank you")
    assert answered_in == opened.from_jid
    assert errors == []
    await context.close()


async def test_files_both_ways_between_the_widget_and_an_xmpp_agent(
    sharing_engine: Engine,
    sharing_prosody: ProsodyServer,
    browser: Browser,
    widget_dist: Path,
    cleanup: list[Any],
) -> None:
    engine = sharing_engine
    agent = await online_agent(engine, sharing_account(sharing_prosody, "fay"), "Fay", cleanup)
    context, page, errors = await open_widget(browser, engine)
    conv_jid, _ = await visitor_writes(page, agent, "The part looks like this")
    await expect(page.get_by_test_id("attach")).to_be_enabled()

    # The visitor's file: to the agent as XEP-0066, the body the engine's own link.
    seen = len(agent.received)
    await page.get_by_test_id("file-input").set_input_files(
        files=FilePayload(name="part.png", mimeType="image/png", buffer=_png())
    )
    sent = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and m.oob is not None, after=seen, timeout=WAIT
    )
    assert engine.url is not None
    assert sent.body == sent.oob
    assert sent.body.startswith(engine.url + "/")
    assert urlsplit(sent.body).path.endswith("/part.png")  # signed: ?exp=…&sig=…
    async with aiohttp.ClientSession() as http, http.get(sent.body) as got:
        assert (got.status, await got.read()) == (200, _png())

    # The agent's file: uploaded to their own server, sent as a link, shown to the visitor.
    upload = await agent.upload("wiring.pdf", PDF, "application/pdf")
    agent.send_file(conv_jid, upload, msg_id="fay-file")
    link = agent_messages(page).locator("a.ce-file")
    await expect(link).to_have_text("wiring.pdf")
    href = await link.get_attribute("href")
    assert href is not None
    assert href.startswith(engine.url + "/")  # the engine's copy, not the agent's server
    got_in_page = await page.request.get(href)
    assert (got_in_page.status, await got_in_page.body()) == (200, PDF)
    assert errors == []
    await context.close()


async def test_a_rich_canned_response_answered_by_keyboard(
    engine: Engine,
    browser: Browser,
    widget_dist: Path,
    register_agent: RegisterAgent,
    cleanup: list[Any],
    tmp_path: Path,
) -> None:
    rich_file = tmp_path / "solved.json"
    rich_file.write_text(json.dumps(SOLVED), encoding="utf-8")
    out = io.StringIO()
    argv = ["canned", "add", "solved", "Is it solved, {visitor}?", "--rich-file", str(rich_file)]
    argv += ["--database-url", engine.settings.database.url]
    # The operator's command, against the running engine's database.
    assert await asyncio.to_thread(main, argv, env={}, out=out) == 0, out.getvalue()

    agent = await online_agent(engine, register_agent("rex"), "Rex", cleanup)
    context, page, errors = await open_widget(browser, engine)
    conv_jid, _ = await visitor_writes(page, agent, "My router blinks red")

    seen = len(agent.received)
    agent.send(conv_jid, "!canned solved")
    confirmed = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and "Is it solved" in m.body, after=seen, timeout=WAIT
    )
    assert "1) Yes, solved" in confirmed.body
    assert "2) No, still broken" in confirmed.body
    choices = agent_messages(page).get_by_test_id("rich-choice")
    await expect(choices).to_have_text(["Yes, solved", "No, still broken"])

    await choices.nth(0).focus()
    await page.keyboard.press("Tab")
    await expect(choices.nth(1)).to_be_focused()
    await page.keyboard.press("Enter")
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine.last.locator(".ce-bubble")).to_have_text("No, still broken")
    await expect(choices.nth(1)).to_have_attribute("aria-pressed", "true")
    await expect(choices.nth(0)).to_be_disabled()

    chose = await agent.wait_for(
        lambda m: m.from_jid == conv_jid and " chose: " in m.body, after=seen, timeout=WAIT
    )
    assert chose.body.endswith(" chose: 2) No, still broken")
    assert errors == []
    await context.close()
