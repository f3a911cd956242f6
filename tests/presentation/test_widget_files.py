"""Files in the built widget, in headless Chromium against the real server: the visitor
attaches an image from the keyboard and sees it inline, a file of a type the site does
not take is refused in the window, and an agent's file shows as a link named after it
that downloads."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from playwright.async_api import Browser, FilePayload, expect

from business.file_model import FileLimits
from business.model import DEFAULT_TENANT, ConversationId
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _open_widget, _send

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4 manual"


def _png() -> bytes:
    """A real 1x1 PNG, so the browser can decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_the_visitor_attaches_an_image_and_gets_the_agents_file(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    await world.services.files.set_limits(
        DEFAULT_TENANT, FileLimits(allowed_types=("image/png", "application/pdf"))
    )
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _open_widget(page, server)
    attach = page.get_by_test_id("attach")
    await expect(attach).to_be_disabled()  # no conversation to put a file in yet
    await _send(page, "Here is the broken part")
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    await expect(attach).to_have_attribute("aria-label", "Attach a file")
    await expect(attach).to_be_enabled()

    # From the keyboard: the button opens the file chooser.
    async with page.expect_file_chooser() as chooser:
        await attach.press("Enter")
    await (await chooser.value).set_files(
        files=FilePayload(name="photo.png", mimeType="image/png", buffer=_png())
    )
    image = page.locator('[data-kind="visitor"][data-seq] img.ce-image')
    await expect(image).to_have_attribute("alt", "photo.png")
    await expect(image).to_have_js_property("naturalWidth", 1)  # it loaded

    await page.get_by_test_id("file-input").set_input_files(
        files=FilePayload(name="page.html", mimeType="text/html", buffer=b"<p>hi</p>")
    )
    refused = page.locator('[data-kind="visitor"][data-failed="true"]')
    await expect(refused).to_contain_text("page.html")
    await expect(refused).to_contain_text("Not sent: Files of this type cannot be sent.")

    conversation_id = ConversationId(_conversation_id(recorder))
    await world.agent_shares_file(agent, conversation_id, PDF)
    link = page.locator('[data-kind="agent"] a.ce-file')
    await expect(link).to_have_text("manual.pdf")
    href = await link.get_attribute("href")
    assert href is not None
    got = await page.request.get(href)
    assert (got.status, await got.body()) == (200, PDF)
    assert errors == []
    await context.close()
