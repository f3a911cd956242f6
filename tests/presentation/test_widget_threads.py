"""Messaging mode in the built widget, in headless Chromium against the real server: the
thread list with unread counts, "New conversation", a locked thread shown read-only, and
the chat manager's messaging step opening the thread with news on a later visit. One
page (and one reload) for all of it: browser tests stay few."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, ConversationId
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent

pytestmark = pytest.mark.e2e


async def test_threads_list_new_thread_and_a_locked_thread(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    agent = await ready_agent(world)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()

    async def send(text: str) -> ConversationId:
        await page.get_by_test_id("input").fill(text)
        await page.get_by_test_id("send").click()
        stored = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
        await expect(stored.filter(has_text=text)).to_have_count(1)
        token = await page.evaluate("localStorage.getItem('chat-engine:default:token')")
        threads = await world.services.threads.threads_by_token(DEFAULT_TENANT, token.strip('"'))
        return next(t.id for t in threads if t.preview == text)

    # A new visitor writes: the first thread. The visitor cannot end it.
    first = await send("Where is my order?")
    await expect(page.get_by_test_id("end")).to_be_hidden()
    await world.agent_says(agent, first, "It ships tomorrow.")
    await expect(page.get_by_test_id("message").filter(has_text="ships tomorrow")).to_be_visible()

    # "New conversation" opens a second thread beside it.
    await page.get_by_test_id("threads-back").click()
    await expect(page.get_by_test_id("thread")).to_have_count(1)
    await page.get_by_test_id("new-thread").click()
    second = await send("Another question about invoices")
    assert second != first
    await page.get_by_test_id("threads-back").click()
    threads = page.get_by_test_id("thread")
    await expect(threads).to_have_count(2)

    # News in a thread while the list shows: its unread count.
    await world.agent_says(agent, first, "Tracking number: 42")
    first_item = page.locator(f'[data-thread-id="{first}"]')
    await expect(first_item.get_by_test_id("thread-unread")).to_have_text("1")
    await expect(first_item).to_contain_text("Tracking number: 42")

    # A locked thread is read-only, with a notice; unlocked, the visitor writes again.
    await page.locator(f'[data-thread-id="{second}"]').click()
    await world.services.threads.set_lock(
        c.LockThread(agent_id=agent, conversation_id=second, locked=True)
    )
    await expect(page.get_by_test_id("locked-note")).to_be_visible()
    await expect(page.get_by_test_id("input")).to_be_disabled()
    await expect(page.get_by_test_id("attach")).to_be_disabled()
    await page.get_by_test_id("threads-back").click()
    await expect(page.locator(f'[data-thread-id="{second}"]')).to_have_attribute(
        "data-locked", "true"
    )
    await page.locator(f'[data-thread-id="{second}"]').click()
    await expect(page.get_by_test_id("locked-note")).to_be_visible()
    await world.services.threads.set_lock(
        c.LockThread(agent_id=agent, conversation_id=second, locked=False)
    )
    await expect(page.get_by_test_id("locked-note")).to_be_hidden()
    await expect(page.get_by_test_id("input")).to_be_enabled()
    await expect(page.get_by_test_id("attach")).to_be_enabled()

    # Days later (no engagement left in this browser), an answer waits in the first
    # thread: the chat manager's messaging step asks the engine and opens that thread.
    await world.agent_says(agent, first, "It has arrived?")
    await page.evaluate("localStorage.removeItem('chat-engine:default:engaged')")
    await page.evaluate("sessionStorage.clear()")
    await page.reload()
    await page.wait_for_function("window.__chatEngineWidget && window.__chatEngineWidget.chain")
    assert await page.evaluate("window.__chatEngineWidget.chain") == "messaging"
    await expect(page.get_by_test_id("window")).to_be_visible()
    await expect(page.get_by_test_id("message").filter(has_text="It has arrived?")).to_be_visible()
    await expect(page.get_by_test_id("threads")).to_be_hidden()
    assert errors == []
    await context.close()
