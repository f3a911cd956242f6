"""The widget's HTTP calls carry the signed identity (``X-Chat-Identity``), in headless
Chromium against the real server: an identified visitor's token alone reads nothing
(``presentation.visitor_api``), so every read of an event by reference, every upload and
the chat manager's threads list must send it, and the server refuses the same reads
from the same page without it or with another customer's identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from playwright.async_api import Browser, FilePayload, Request, expect

from business import commands as c
from business.clock import SystemClock
from business.file_model import FileLimits
from business.identity_model import IdentityMode
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from business.validation import Limits
from data import Database
from presentation import WebSettings
from tests.fakes import RecordingNotifier
from tests.harness import World, make_world
from tests.presentation.conftest import Server, StartServer, ready_agent
from tests.presentation.test_identity_socket import SECRET, claims, configure
from tests.presentation.test_widget_browser import _conversation_id, _send
from tests.presentation.test_widget_files import _png

pytestmark = pytest.mark.e2e

BIG = "The warranty, in full. " + "Section after section. " * 300  # over 2 KiB: a ref


@pytest.fixture
async def world(database: Database) -> World:
    return await make_world(
        uow=database.unit_of_work,
        clock=SystemClock(),
        queues=(DEFAULT_QUEUE,),
        limits=Limits(max_text_length=20_000),
    )


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server(settings=WebSettings(event_inline_max_bytes=2048))


_FETCH = """async ([url, headers]) => {
    const r = await fetch(url, { headers });
    let body = null;
    try { body = await r.json(); } catch {}
    return [r.status, body];
}"""


async def test_the_widgets_http_calls_carry_the_identity_and_reads_without_it_are_refused(
    server: Server, world: World, browser: Browser, widget_dist: Path
) -> None:
    await configure(world, IdentityMode.REQUIRED)
    await world.services.queue_settings.configure(
        c.ConfigureQueue(tenant_id=DEFAULT_TENANT, queue=DEFAULT_QUEUE, mode="messaging")
    )
    await world.services.files.set_limits(DEFAULT_TENANT, FileLimits(allowed_types=("image/png",)))
    recorder = RecordingNotifier()
    world.publisher.subscribe(recorder)
    agent = await ready_agent(world, name="Alice")
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    context = await browser.new_context()
    await context.add_init_script(f"window.ChatEngineIdentity = {json.dumps(token)};")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # Recorded as each request is announced, its headers read afterwards: a handler that
    # awaited them could still be appending when the checks below ran (a CI failure).
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    await page.goto(f"{server.url}/demo")
    await page.get_by_test_id("launcher").click()
    await _send(page, "My kettle broke")
    await expect(page.get_by_test_id("status")).to_have_text("Chatting with Alice")
    conversation_id = _conversation_id(recorder)

    # A large answer comes by reference: the widget fetches it.
    await world.agent_says(agent, conversation_id, BIG)
    theirs = page.locator('[data-testid="message"][data-kind="agent"]')
    await expect(theirs.filter(has_text="Section after section.")).to_have_count(1)
    # An upload.
    await page.get_by_test_id("file-input").set_input_files(
        files=FilePayload(name="kettle.png", mimeType="image/png", buffer=_png())
    )
    await expect(page.locator('[data-kind="visitor"][data-seq] img.ce-image')).to_have_count(1)
    # Days later, news in the thread: the chat manager asks for the threads list. The
    # visitor minimised the chat first, so the news stays unread (an open window marks
    # it read after half a second, and the manager would then have nothing to open).
    await page.get_by_test_id("close").click()
    await expect(page.get_by_test_id("window")).to_be_hidden()
    await world.agent_says(agent, conversation_id, "A new one is on its way.")
    await expect(page.get_by_test_id("badge")).to_have_text("1")
    # Longer than the widget's read delay (500 ms): a read it scheduled while the window
    # was open must not mark what came after minimising as read.
    await page.wait_for_timeout(700)
    await page.evaluate("localStorage.removeItem('chat-engine:default:engaged')")
    await page.evaluate("sessionStorage.clear()")
    await page.reload()
    await expect(page.get_by_test_id("message").filter(has_text="on its way")).to_be_visible()

    calls = [
        (request.method, request.url, await request.all_headers())
        for request in requests
        if "/visitor-api/v1/" in request.url and request.method != "OPTIONS"
    ]
    kinds: dict[str, list[dict[str, str]]] = {"event": [], "upload": [], "threads": []}
    for method, url, headers in calls:
        if "/events/" in url and method == "GET":
            kinds["event"].append(headers)
        elif url.endswith("/visitor-api/v1/files") and method == "POST":
            kinds["upload"].append(headers)
        elif url.endswith("/visitor-api/v1/threads") and method == "GET":
            kinds["threads"].append(headers)
    visitor_token = json.loads(
        await page.evaluate("localStorage.getItem('chat-engine:default:token')")
    )
    for kind, seen in kinds.items():
        assert seen, f"the widget made no {kind} call: {[(m, u) for m, u, _ in calls]}"
        for headers in seen:
            assert headers.get("x-chat-identity") == token, (kind, headers)
            assert headers.get("authorization") == f"Bearer {visitor_token}", (kind, headers)
            assert headers.get("x-chat-tenant") == "default", (kind, headers)

    # The same reads from the same page: refused without the identity, or with another
    # customer's; answered with it.
    event_url = next(url for method, url, _ in calls if "/events/" in url and method == "GET")
    threads_url = f"{server.url}/visitor-api/v1/threads"
    base = {"Authorization": f"Bearer {visitor_token}", "X-Chat-Tenant": "default"}
    other = jwt.encode(claims(sub="customer-7"), SECRET, algorithm="HS256")
    for url in (event_url, threads_url):
        status, body = await _page_get(page, url, base)
        assert (status, body["code"]) == (401, "unauthenticated"), url
        status, body = await _page_get(page, url, {**base, "X-Chat-Identity": other})
        assert status in (401, 404), (url, status, body)
        status, body = await _page_get(page, url, {**base, "X-Chat-Identity": token})
        assert status == 200, (url, body)
    assert (await _page_get(page, event_url, {**base, "X-Chat-Identity": token}))[1]["text"] == BIG
    assert errors == []
    await context.close()


async def _page_get(page: Any, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    status, body = await page.evaluate(_FETCH, [url, headers])
    return int(status), body
