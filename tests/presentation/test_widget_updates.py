"""The built widget in headless Chromium: an agent's correction replaces the text the
visitor sees, the agent's read shows under the visitor's messages, and an agent's file
is a link."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from business import commands as c
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _open_widget, _send

pytestmark = pytest.mark.e2e

URL = "https://files.example/invoice.pdf"


async def test_corrections_reads_and_files_show_in_the_widget(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _open_widget(page, server)
    await _send(page, "When do you deliver?")
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)
    cid = _conversation_id(recorder)

    original = await world.agent_says(agent, cid, "On Monday", "xmpp:s1")
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs.first.locator(".ce-bubble")).to_have_text("On Monday")
    await world.services.corrections.correct_agent_message(
        c.CorrectAgentMessage(
            agent_id=agent, conversation_id=cid, replaces="xmpp:s1", text="On Tuesday"
        )
    )
    await world.services.read_markers.mark_read_by_agent(
        c.MarkAgentRead(agent_id=agent, conversation_id=cid, up_to_seq=original.seq - 1)
    )
    await world.messaging.send_agent_message(
        c.SendAgentMessage(agent_id=agent, conversation_id=cid, text="", attachments=(URL,))
    )

    await expect(theirs.first.locator(".ce-bubble")).to_have_text("On Tuesday")
    await expect(theirs.first).to_have_attribute("data-edited", "true")
    await expect(theirs).to_have_count(2)  # the correction is no message of its own
    await expect(mine.first).to_have_attribute("data-read", "true")
    await expect(mine.first.locator(".ce-meta")).to_contain_text("Read")
    link = theirs.nth(1).locator("a.ce-file")
    await expect(link).to_have_attribute("href", URL)

    # After a reload the history from sync shows the same.
    await page.reload()
    await expect(theirs.first.locator(".ce-bubble")).to_have_text("On Tuesday")
    await expect(mine.first).to_have_attribute("data-read", "true")
    assert errors == []
    await context.close()
