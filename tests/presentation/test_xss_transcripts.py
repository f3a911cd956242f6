"""The attack corpus (``tests.attack_corpus``) through transcripts, on SQLite and
PostgreSQL: a chat of a tenant, a visitor and an agent whose names are payloads, with the
corpus said both ways and files named after it, is e-mailed through a real SMTP server;
the mail's HTML part (``business.transcript_html``) opens in headless Chromium. Nothing
runs, every message and name is on the page as the text that was sent, and attachment
addresses other than http(s) never become links."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, BrowserContext, Page

from business import commands as c
from business.clock import SystemClock
from business.mail_settings import MailSettings
from business.model import DEFAULT_QUEUE, AgentId, ConversationId, ParticipantKind, TenantId
from business.transcript_html import transcript_to_html
from business.transcripts import LineKind, Transcript, TranscriptLine
from chat_engine.engine import transcript_mail_dispatcher
from data import Database
from tests.attack_corpus import FILE_NAMES, PAYLOADS, URLS, Trap, arm, texts
from tests.harness import make_world
from tests.presentation.smtp_server import smtp_server

pytestmark = pytest.mark.e2e

EVIL = TenantId("evil")
TENANT_NAME = "<script>__xss(501);alert(501)</script> Shop"
VISITOR_NAME = "<img src=x onerror=__xss(502);alert(502)>"
AGENT_NAME = "<svg onload=__xss(503);alert(503)>"
AGENT = AgentId("mallory@agents.example")
SAFE_LINK = 'https://shop.example/"><img/src=x/onerror=__xss(504)>'

INJECTED = """() => [...document.querySelectorAll('*')].flatMap(e => {
    const tag = e.tagName.toLowerCase();
    const bad = ['script', 'iframe', 'object', 'embed', 'svg', 'img', 'math', 'details',
                 'style'].includes(tag) || [...e.attributes].some(a => a.name.startsWith('on'));
    return bad ? [e.outerHTML.slice(0, 120)] : [];
})"""
"""Elements only markup from a message could have made in a transcript (which has no
images, styles or scripts of its own)."""


async def _show(context: BrowserContext, html: str) -> Page:
    page = await context.new_page()
    await page.set_content(html, wait_until="load")
    await page.wait_for_timeout(100)  # onerror of a broken image fires after load
    return page


async def test_an_emailed_transcript_of_the_corpus_runs_nothing_and_shows_it_all(
    database: Database, browser: Browser
) -> None:
    async with smtp_server() as sink:
        mail = MailSettings(
            host="127.0.0.1",
            port=sink.port,
            tls="none",
            from_address="noreply@chat.example.org",
            timeout=5.0,
        )
        world = await make_world(
            uow=database.unit_of_work,
            clock=SystemClock(),
            queues=(DEFAULT_QUEUE,),
            tenants={EVIL: TENANT_NAME},
            mail=mail,
        )
        dispatcher = transcript_mail_dispatcher(world.services, mail)
        dispatcher.start()
        try:
            await world.agent(AGENT, name=AGENT_NAME, tenant_id=EVIL, max_chats=5)
            visitor = await world.visitor(EVIL)
            said = texts()
            conv = await world.start(visitor, said[0], form={"name": VISITOR_NAME})
            for text in said[1:]:
                await world.visitor_says(visitor, conv.id, text)
            for text in said:
                await world.agent_says(AGENT, conv.id, text)
            for name in FILE_NAMES:
                await world.agent_shares_file(AGENT, conv.id, name=name)
            await world.services.transcript_requests.request(
                c.RequestTranscript(
                    visitor_id=visitor, conversation_id=conv.id, email="ann@example.org"
                )
            )
            [received] = await sink.wait_for(1)
        finally:
            await dispatcher.stop()

    html_part = received.message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    context = await browser.new_context()
    trap = await arm(context)
    page = await _show(context, html)

    assert await page.evaluate(INJECTED) == []
    assert trap.clean(), trap
    shown = await page.locator('span[style*="pre-wrap"]').all_text_contents()
    assert shown == said + said + [""] * len(FILE_NAMES), shown
    names = await page.locator("strong").all_text_contents()
    assert set(names) == {VISITOR_NAME, AGENT_NAME}
    assert TENANT_NAME in (await page.locator("p").first.text_content() or "")
    assert await page.title() == f"Your conversation with {TENANT_NAME}"
    # The agent's files: this engine knows no public URL, so they are paths, shown as
    # text (a link needs http(s)); the names in them percent-encoded.
    assert await page.locator("a").count() == 0
    body = await page.locator("body").text_content() or ""
    assert body.count("/files/") == len(FILE_NAMES)
    assert "<img" not in body.split("/files/", 1)[1]
    await context.close()


def _transcript(attachments: tuple[str, ...]) -> Transcript:
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    said = [
        TranscriptLine(
            at=at,
            kind=LineKind.MESSAGE,
            sender_kind=ParticipantKind.AGENT,
            sender_name=p.text,
            text=p.text,
            attachments=attachments,
        )
        for p in PAYLOADS
    ]
    end = TranscriptLine(
        at=at, kind=LineKind.ENDED, sender_kind=None, sender_name=None, text=PAYLOADS[0].text
    )
    lines = (*said, end)
    return Transcript(
        conversation_id=ConversationId("c1"),
        visitor_name=VISITOR_NAME,
        queue=DEFAULT_QUEUE,
        started_at=at,
        ended_at=at,
        lines=lines,
        text="",
    )


async def test_transcript_html_links_only_http_addresses_and_runs_no_payload(
    browser: Browser,
) -> None:
    transcript = _transcript((*URLS, SAFE_LINK))
    html = transcript_to_html(transcript, title=TENANT_NAME, intro=VISITOR_NAME, tz=UTC)
    context = await browser.new_context()
    trap = await arm(context)
    page = await _show(context, html)

    assert await page.evaluate(INJECTED) == []
    assert trap.clean(), trap
    hrefs = await page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [SAFE_LINK] * len(PAYLOADS)
    # The other addresses are there, as text.
    body = await page.locator("body").text_content() or ""
    for url in URLS:
        assert url.strip() in body
    assert [await s.text_content() for s in await page.locator("strong").all()] == [
        p.text for p in PAYLOADS
    ]
    await context.close()


async def test_the_trap_catches_a_payload_that_runs(browser: Browser) -> None:
    """The trap itself can fail: markup put on a page as markup is caught."""
    context = await browser.new_context()
    trap: Trap = await arm(context)
    page = await context.new_page()
    await page.set_content("<p>x</p>")
    await page.evaluate(
        "html => { document.body.innerHTML = html; }",
        "".join(p.text for p in PAYLOADS[:3]),
    )
    await page.wait_for_timeout(300)
    assert not trap.clean()
    assert 2 in trap.calls  # the <img onerror> ran
    assert trap.dialogs
    await context.close()
