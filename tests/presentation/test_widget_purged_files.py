"""A purged picture in the built widget, in headless Chromium against the real server:
after its tenant's retention deleted it, the history brings the message back with its
link, the picture does not load (410), and the visitor sees the file's name as a link,
not a broken picture; the link's page says the file is no longer available."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, FilePayload, expect

from business.file_config import ConfigureFiles
from business.file_retention import FileRetentionService
from business.model import DEFAULT_TENANT
from business.transactions import Transactions
from tests.fakes import FakeClock
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.test_widget_browser import _open_widget, _send
from tests.presentation.test_widget_files import _png

pytestmark = pytest.mark.e2e


async def test_a_purged_picture_shows_as_its_name(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _open_widget(page, server)
    await _send(page, "Here is the broken part")
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    await page.get_by_test_id("file-input").set_input_files(
        files=FilePayload(name="photo.png", mimeType="image/png", buffer=_png())
    )
    image = page.locator('[data-kind="visitor"][data-seq] img.ce-image')
    await expect(image).to_have_js_property("naturalWidth", 1)

    await world.services.file_config.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=1)
    )
    later = FakeClock(datetime.now(UTC) + timedelta(days=2))
    purge = FileRetentionService(
        transactions=Transactions(world.uow, world.services.publisher),
        blobs=world.blobs,
        clock=later,
    )
    assert (await purge.purge())[0].files == 1

    # A later visit: the picture is served "private, max-age=600", and a reload within
    # its link's lifetime would show it from this browser's cache without asking.
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.clearBrowserCache")
    await page.reload()
    await expect(page.get_by_test_id("window")).to_be_visible()
    link = page.locator('[data-kind="visitor"][data-seq] a.ce-file')
    await expect(link).to_have_text("photo.png")
    await expect(link.locator("img")).to_have_count(0)
    href = await link.get_attribute("href")
    assert href is not None
    gone = await context.new_page()
    response = await gone.goto(href)
    assert response is not None
    assert response.status == 410
    await expect(gone.locator("body")).to_contain_text("This file is no longer available.")
    assert errors == []
    await context.close()
