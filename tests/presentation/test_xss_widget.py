"""The attack corpus (``tests.attack_corpus``) in the built widget, in headless Chromium
against the real server on SQLite and PostgreSQL: typed by the visitor, written by the
agent, as the agent's and a bot's name, in rich messages (labels, titles, alt texts,
URLs) and as the names of files either side sends. Nothing runs (no ``__xss`` call, no
dialog, no error), every payload shows as the text that was sent, live and again from
history after a reload, and a very long word stays inside its bubble."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, FilePayload, Locator, Page, expect

from business.file_model import FileLimits
from business.model import DEFAULT_TENANT, ApiKeyScope
from tests.attack_corpus import FILE_NAMES, LONG_WORD, PAYLOADS, URLS, arm, texts
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import make_key
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.test_widget_browser import _conversation_id, _open_widget, _send

pytestmark = pytest.mark.e2e

AGENT_NAME = "<img src=x onerror=__xss(401);alert(401)>"
BOT = {"kind": "bot", "name": "<svg onload=__xss(402);alert(402)>"}
SHORT = [p.text for p in PAYLOADS if len(p.text) <= 80]
"""Payloads that fit a rich label or title."""
EVIL_HTTPS = 'https://shop.example/"><img/src=x/onerror=__xss(403)>'
"""An https address the API takes (no spaces): markup in it stays in the attribute."""


def _rich_messages() -> list[dict[str, object]]:
    cards = [
        {
            "title": text,
            "text": text,
            "image_alt": text,
            "buttons": [{"label": text, "url": EVIL_HTTPS}, {"label": "Pick", "payload": f"p{i}"}],
        }
        for i, text in enumerate(SHORT[:10])
    ]
    items = [
        {"id": f"i{i}", "label": text, "description": text} for i, text in enumerate(SHORT[:30])
    ]
    return [
        {"carousel": cards},
        {"list_picker": {"title": SHORT[0], "items": items, "multiple": True}},
        {"quick_replies": [{"label": t, "payload": f"q{i}"} for i, t in enumerate(SHORT[:13])]},
    ]


async def _bubbles(messages: Locator) -> list[str]:
    return [
        await messages.nth(i).locator(".ce-bubble").evaluate("b => b.textContent")
        for i in range(await messages.count())
    ]


async def _fits(page: Page) -> None:
    """The long word's bubbles wrap: no wider than the message list."""
    widths = await page.get_by_test_id("messages").evaluate(
        """list => [...list.querySelectorAll('.ce-bubble')]
            .filter(b => b.textContent.includes('WWWWWWWWWW'))
            .map(b => [b.scrollWidth, b.clientWidth, list.clientWidth])"""
    )
    assert len(widths) == 2, widths  # the visitor's and the agent's
    for scroll, client, room in widths:
        assert scroll <= client <= room, widths


async def test_the_corpus_shows_as_text_in_the_widget_and_runs_nowhere(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name=AGENT_NAME)
    await world.services.files.set_limits(
        DEFAULT_TENANT, FileLimits(allowed_types=("image/png", "application/pdf"))
    )
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    trap = await arm(context)
    page = await context.new_page()
    await _open_widget(page, server)

    sent = texts()
    for text in sent:
        await _send(page, text)
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(len(sent))
    await expect(page.get_by_test_id("status")).to_have_text(f"Chatting with {AGENT_NAME}")
    conversation_id = _conversation_id(recorder)
    for text in sent:
        await world.agent_says(agent, conversation_id, text)
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs).to_have_count(len(sent))

    # Rich messages through the REST API, with the corpus wherever people's text goes.
    async with aiohttp.ClientSession() as http:
        api = ApiClient(f"{server.url}/api/v1", http)
        key = await make_key(world, ApiKeyScope.BOT, DEFAULT_TENANT)
        path = f"/conversations/{conversation_id}/messages"
        for i, rich in enumerate(_rich_messages()):
            body = {"client_msg_id": f"r-{i}", "sender": BOT, "text": SHORT[i], "rich": rich}
            reply = await api.post(path, key, body)
            assert reply.status == 201, reply.body
        # Addresses that are not https are refused at the edge, wherever they go.
        for i, url in enumerate(URLS):
            refused: list[dict[str, object]] = [
                {"buttons": [{"label": "Go", "url": url}]},
                {"card": {"title": "T", "image_url": url}},
            ]
            for bad in refused:
                body = {"client_msg_id": f"u-{i}", "sender": BOT, "text": "x", "rich": bad}
                reply = await api.post(path, key, body)
                reply.problem(400, "invalid_input")
    bots = page.locator('[data-testid="message"][data-kind="bot"]')
    await expect(bots).to_have_count(3)

    # Files with the corpus as their names, from the visitor and from the agent.
    for name in FILE_NAMES:
        kind = "image/png" if name.endswith(".png") else "application/pdf"
        await page.get_by_test_id("file-input").set_input_files(
            files=FilePayload(name=name, mimeType=kind, buffer=b"%PDF-1.4 x")
        )
        await world.agent_shares_file(agent, conversation_id, name=name)
    await expect(mine).to_have_count(len(sent) + len(FILE_NAMES))
    await expect(theirs).to_have_count(len(sent) + len(FILE_NAMES))

    async def check() -> None:
        assert await _bubbles(mine.and_(page.locator(":not(:has(.ce-file))"))) == sent
        assert (await _bubbles(theirs))[: len(sent)] == sent
        window = page.get_by_test_id("window")
        # The carousel's cards, shown or not: titles, texts and links as sent.
        cards = await window.get_by_test_id("rich-card").evaluate_all(
            """cards => cards.map(c => [c.querySelector('.ce-card-title')?.textContent,
                [...c.querySelectorAll('a')].map(a => [a.textContent, a.getAttribute('href')])])"""
        )
        assert cards == [[t, [[t, EVIL_HTTPS]]] for t in SHORT[:10]], cards
        labels = await window.get_by_test_id("rich-list").locator("label").all_text_contents()
        assert all(any(t in label for label in labels) for t in SHORT[:30])
        shown = await page.locator(".ce-file").evaluate_all(
            "links => links.map(a => a.querySelector('img')?.alt ?? a.textContent)"
        )
        # The visitor's and the agent's; bidi controls are taken out of file names.
        expected = [n.replace("\u202e", "_") for n in FILE_NAMES]
        assert sorted(shown) == sorted(expected * 2), shown
        assert await _injected(window) == []
        await _fits(page)
        assert trap.clean(), trap

    await check()
    await page.reload()
    await expect(mine).to_have_count(len(sent) + len(FILE_NAMES))
    await expect(theirs).to_have_count(len(sent) + len(FILE_NAMES))
    await expect(bots).to_have_count(3)
    await check()
    await context.close()


async def _injected(window: Locator) -> list[str]:
    """Elements in the widget that only markup from a message could have made: scripts,
    frames, objects, images the widget did not add, and any ``on…`` attribute."""
    found: list[str] = await window.evaluate(
        """w => [...w.getRootNode().querySelectorAll('*')].flatMap(e => {
            const tag = e.tagName.toLowerCase();
            const bad = ['script', 'iframe', 'object', 'embed', 'math', 'details'].includes(tag)
                || (tag === 'img' && !e.matches('.ce-image, .ce-card-image'))
                || [...e.attributes].some(a => a.name.startsWith('on'));
            return bad ? [e.outerHTML.slice(0, 120)] : [];
        })"""
    )
    return found


def test_the_corpus_is_what_the_tests_say() -> None:
    assert len(SHORT) >= 13
    assert len(LONG_WORD) > 2000
    assert len({p.n for p in PAYLOADS}) == len(PAYLOADS)
