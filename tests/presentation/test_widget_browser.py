"""The built widget in headless Chromium against the real server: what a visitor sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from business import commands as c
from business.errors import Unavailable
from business.events import MessagePosted
from business.history import SyncResult
from business.model import ConversationId, ParticipantKind
from presentation.app import SIO_KEY
from tests.fakes import RecordingNotifier
from tests.harness import World
from tests.presentation.conftest import Server, ready_agent
from tests.presentation.screenshots import screenshot

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"


def _conversation_id(recorder: RecordingNotifier) -> ConversationId:
    for event in recorder.events():
        if isinstance(event, MessagePosted) and event.sender.kind is ParticipantKind.VISITOR:
            return event.conversation_id
    raise AssertionError("no visitor message was published")


async def _open_widget(page: Page, server: Server) -> None:
    """The demo page with the chat window opened, as a visitor would."""
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()


async def _send(page: Page, text: str) -> None:
    await page.get_by_test_id("input").fill(text)
    await page.get_by_test_id("send").click()


async def _texts(page: Page) -> list[tuple[str, str, str]]:
    """(seq, kind, text) of every rendered message, top to bottom."""
    items = page.get_by_test_id("message")
    result = []
    for i in range(await items.count()):
        item = items.nth(i)
        result.append(
            (
                await item.get_attribute("data-seq") or "",
                await item.get_attribute("data-kind") or "",
                await item.locator(".ce-bubble").inner_text(),
            )
        )
    return result


async def test_visitor_chats_with_an_agent_and_gets_history_back_after_reload(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    await _open_widget(page, server)
    await expect(page.get_by_test_id("window")).to_be_visible()
    await expect(page.get_by_test_id("title")).to_have_text("Chat with us")

    await _send(page, "Hello, do you ship to Norway?")
    mine = page.locator('[data-testid="message"][data-kind="visitor"][data-seq]')
    await expect(mine).to_have_count(1)
    await expect(mine.first).to_contain_text("Hello, do you ship to Norway?")
    conversation_id = _conversation_id(recorder)
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    await expect(page.get_by_test_id("notice").first).to_have_text("Alice joined the chat")

    await world.messaging.set_agent_typing(
        c.SetAgentTyping(agent_id=agent, conversation_id=conversation_id, composing=True)
    )
    await expect(page.get_by_test_id("typing")).to_have_text("Alice is typing…")
    await expect(page.get_by_test_id("typing")).to_be_visible()

    await world.agent_says(agent, conversation_id, "Yes, we do! Shipping takes 3 days.")
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs).to_have_count(1)
    await expect(theirs.first).to_contain_text("Yes, we do! Shipping takes 3 days.")
    await expect(page.get_by_test_id("typing")).to_be_hidden()

    # Markup from either side must arrive as text, never as elements.
    await _send(page, XSS)
    # Stored (it has its seq) before the agent answers it, so the order is the chat's.
    await expect(mine).to_have_count(2)
    await world.agent_says(agent, conversation_id, f"You wrote {XSS}")
    await expect(theirs).to_have_count(2)
    await expect(mine.nth(1).locator(".ce-bubble")).to_have_text(XSS)
    await expect(theirs.nth(1).locator(".ce-bubble")).to_have_text(f"You wrote {XSS}")
    await expect(page.get_by_test_id("messages").locator("img")).to_have_count(0)

    before = await _texts(page)
    assert [kind for _, kind, _ in before] == ["visitor", "agent", "visitor", "agent"]
    await screenshot(page, "widget-chat.png")

    await page.reload()
    # The window stays open across pages of the same tab; the history comes from sync.
    await expect(page.get_by_test_id("window")).to_be_visible()
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(4)
    after = await _texts(page)
    assert after == before
    assert len({seq for seq, _, _ in after}) == 4
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")

    # Still the same conversation: the agent's next message lands in it.
    await world.agent_says(agent, conversation_id, "Anything else?")
    await expect(theirs).to_have_count(3)

    await page.get_by_test_id("end").click()
    await expect(page.get_by_test_id("status")).to_have_text("This chat has ended")
    assert dialogs == []
    assert errors == []
    await context.close()


async def test_launcher_is_drawn_before_the_widget_loads_and_styles_stay_scoped(
    server: Server, browser: Browser, widget_dist: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    # Hold widget.js back: the launcher must already be there without it.
    await page.route("**/widget/widget.js*", lambda route: None)
    await page.goto(f"{server.url}/demo", wait_until="domcontentloaded")
    await expect(page.get_by_test_id("launcher")).to_be_visible()
    await expect(page.get_by_test_id("window")).to_have_count(0)
    heading_font = await page.locator("h1").evaluate("e => getComputedStyle(e).fontFamily")
    assert "system-ui" in heading_font
    await context.close()


async def test_an_unacked_message_survives_a_reload_and_is_delivered_once(
    server: Server,
    world: World,
    browser: Browser,
    widget_dist: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await _open_widget(page, server)
    await _send(page, "first")
    stored = page.locator('[data-testid="message"][data-seq]')
    await expect(stored).to_have_count(1)

    async def down(cmd: c.SendVisitorMessage) -> None:
        raise Unavailable("the database is restarting")

    with monkeypatch.context() as patch:
        patch.setattr(world.messaging, "send_visitor_message", down)
        await _send(page, "second")
        pending = page.locator('[data-testid="message"][data-pending="true"]')
        await expect(pending).to_have_text(re.compile("second"))
        outbox = await page.evaluate("localStorage.getItem('chat-engine:default:outbox')")
        assert "second" in outbox

        await page.reload()
        # Drawn again from the outbox before the server has it.
        await expect(pending).to_have_count(1)
        await expect(stored).to_have_count(1)

    # The widget keeps retrying with backoff; once the store is back it gets through.
    await expect(stored).to_have_count(2, timeout=15_000)
    await expect(pending).to_have_count(0)
    assert [text for _, _, text in await _texts(page)] == ["first", "second"]
    assert await page.evaluate("localStorage.getItem('chat-engine:default:outbox')") is None
    await context.close()


async def test_after_a_dropped_connection_the_widget_catches_up_on_what_it_missed(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    await _open_widget(page, server)
    await _send(page, "hello?")
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    conversation_id = _conversation_id(recorder)
    # Routed to Alice (after the start's commit): only then may she write.
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    await world.agent_says(agent, conversation_id, "one")
    await expect(theirs).to_have_count(1)

    sio = server.app[SIO_KEY]
    for sid, _ in list(sio.manager.get_participants("/visitor", None)):
        await sio.disconnect(sid, namespace="/visitor")
    await expect(page.get_by_test_id("status")).to_have_text("Reconnecting…")
    # Stored while nobody was connected, so nothing was pushed: only sync can bring it.
    await world.agent_says(agent, conversation_id, "two")

    await expect(theirs).to_have_count(2, timeout=10_000)
    await expect(theirs.nth(1).locator(".ce-bubble")).to_have_text("two")
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    seqs = [seq for seq, _, _ in await _texts(page)]
    assert len(seqs) == len(set(seqs)) == 3
    await context.close()


OUTBOX_KEY = "chat-engine:default:outbox"


@pytest.mark.parametrize(
    "stored",
    ["null", '{"client_msg_id": "x"}', '"text"', '[null, 7, {"text": 5}, {"client_msg_id": "y"}]'],
)
async def test_a_corrupted_outbox_does_not_break_the_widget(
    server: Server, browser: Browser, widget_dist: Path, stored: str
) -> None:
    context = await browser.new_context()
    # Another script on the shop's page, an old widget version or a manual edit.
    await context.add_init_script(f"localStorage.setItem({OUTBOX_KEY!r}, {stored!r})")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await _open_widget(page, server)
    await expect(page.get_by_test_id("window")).to_be_visible()

    await _send(page, "still works")
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    assert errors == []
    await context.close()


async def test_two_tabs_sending_while_offline_lose_neither_message(
    server: Server,
    world: World,
    browser: Browser,
    widget_dist: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = await browser.new_context()
    first = await context.new_page()
    await _open_widget(first, server)
    await _send(first, "hello")
    await expect(first.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    second = await context.new_page()
    await _open_widget(second, server)
    await expect(second.locator('[data-testid="message"][data-seq]')).to_have_count(1)

    async def down(cmd: c.SendVisitorMessage) -> None:
        raise Unavailable("the database is restarting")

    with monkeypatch.context() as patch:
        patch.setattr(world.messaging, "send_visitor_message", down)
        await _send(first, "from the first tab")
        await expect(first.locator('[data-pending="true"]')).to_have_count(1)
        await _send(second, "from the second tab")
        await expect(second.locator('[data-pending="true"]')).to_have_count(1)
        # The first tab is closed before the store is back: its message must still be
        # in the outbox the tabs share, not overwritten by the second tab's.
        await first.close()
        outbox = await second.evaluate(f"localStorage.getItem({OUTBOX_KEY!r})")
        assert "from the first tab" in outbox
        assert "from the second tab" in outbox

    third = await context.new_page()
    await third.goto(f"{server.url}/demo")
    stored = third.locator('[data-testid="message"][data-seq]')
    await expect(stored).to_have_count(3, timeout=15_000)
    assert sorted(text for _, _, text in await _texts(third)) == [
        "from the first tab",
        "from the second tab",
        "hello",
    ]
    await context.close()


async def test_a_failed_sync_after_reconnect_is_retried(
    server: Server,
    world: World,
    browser: Browser,
    widget_dist: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    context = await browser.new_context()
    page = await context.new_page()
    await _open_widget(page, server)
    await _send(page, "hello?")
    await expect(page.locator('[data-testid="message"][data-seq]')).to_have_count(1)
    conversation_id = _conversation_id(recorder)
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    # Routed to Alice (after the start's commit): only then may she write.
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")

    sync = world.history.sync
    failures = 0

    async def flaky(cmd: c.SyncEvents) -> SyncResult:
        nonlocal failures
        if failures < 2:
            failures += 1
            raise Unavailable("the database is restarting")
        return await sync(cmd)

    monkeypatch.setattr(world.history, "sync", flaky)
    sio = server.app[SIO_KEY]
    for sid, _ in list(sio.manager.get_participants("/visitor", None)):
        await sio.disconnect(sid, namespace="/visitor")
    await expect(page.get_by_test_id("status")).to_have_text("Reconnecting…")
    await world.agent_says(agent, conversation_id, "sent while you were away")

    # Nothing else happens in the chat: only a retried sync can bring the message.
    await expect(theirs).to_have_count(1, timeout=15_000)
    assert failures == 2
    await context.close()
