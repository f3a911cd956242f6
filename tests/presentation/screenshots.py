"""Screenshots the browser tests take: kept as artifacts of the run
(``CHAT_ENGINE_ARTIFACTS``, ``/tmp/chat-engine-artifacts`` by default), and, for those the
widget guide shows, written to ``docs/images`` too when ``CHAT_ENGINE_DOC_SCREENSHOTS``
names that directory (``make screenshots``): the guide's pictures are what the tests saw.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Page

DOC_SHOTS = frozenset(
    {
        "widget-invitation.png",
        "widget-chat.png",
        "widget-embedded.png",
        "widget-offline-form.png",
        "widget-offline-answer.png",
        "widget-rtl.png",
        "widget-bot.png",
        "widget-transcript.png",
    }
)
"""The screenshots docs/widget-guide.md shows (``tests/presentation/test_doc_screenshots``
checks both ways)."""

PNG = b"\x89PNG\r\n\x1a\n"


async def screenshot(page: Page, name: str) -> Path:
    """The page as the visitor sees it now, saved as ``name``; returns the artifact."""
    artifacts = _directory("CHAT_ENGINE_ARTIFACTS", "/tmp/chat-engine-artifacts")
    assert artifacts is not None
    path = artifacts / name
    image = await page.screenshot(path=str(path))
    assert image.startswith(PNG), name
    if name in DOC_SHOTS and (docs := _directory("CHAT_ENGINE_DOC_SCREENSHOTS", None)):
        (docs / name).write_bytes(image)
    return path


def _directory(variable: str, default: str | None) -> Path | None:
    named = os.environ.get(variable, default)
    if not named:
        return None
    Path(named).mkdir(parents=True, exist_ok=True)
    return Path(named)
