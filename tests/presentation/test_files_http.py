"""Files over HTTP on the real server, SQLite and PostgreSQL: a visitor uploads with their
token into their conversation, within the tenant's limits (each refusal its own code);
the file goes in a message and comes back to them (live and in ``sync``) as a fresh signed
URL; a tampered, expired or unsigned URL is 403; another visitor cannot attach it; an
HTML file is served so that it cannot run; an agent's file copied from their server
reaches the visitor as the engine's own signed URL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from business.commands import SendAgentMessage
from business.file_links import FileLinks, FileLinkSettings
from business.file_model import FileId, FileLimits
from business.file_ports import FetchedFile
from business.model import ConversationId, TenantId
from tests.fakes import FakeClock
from tests.harness import World
from tests.presentation.conftest import Server, VisitorFactory, ready_agent
from tests.visitor_client import Visitor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
UPLOAD = "/visitor-api/v1/files"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _upload(
    http: aiohttp.ClientSession,
    server: Server,
    visitor: Visitor,
    conversation_id: str,
    *,
    data: bytes = PNG,
    name: str = "photo.png",
    content_type: str = "image/png",
    token: str | None = None,
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", data, filename=name, content_type=content_type)
    headers = {"Authorization": f"Bearer {token or visitor.token}", "X-Chat-Tenant": "default"}
    async with http.post(server.url + UPLOAD, data=form, headers=headers) as response:
        return response.status, json.loads(await response.text())


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, bytes, dict[str, str]]:
    async with http.get(url) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_a_visitor_file_goes_in_a_message_and_back_as_a_fresh_signed_url(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Here is the broken part")
    status, body = await _upload(http, server, visitor, conversation_id)
    assert status == 201, body
    assert (body["name"], body["type"], body["size"]) == ("photo.png", "image/png", len(PNG))
    # A path on the engine: this world's engine does not know its public URL.
    assert body["url"].startswith(f"/files/{body['id']}/photo.png?exp=")

    got, data, headers = await _get(http, server.url + body["url"])
    assert (got, data) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith("inline")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"

    ack = await visitor.ok(
        "message.send",
        {
            "conversation_id": conversation_id,
            "client_msg_id": "m-file",
            "text": "",
            "attachments": [body["id"]],
        },
    )
    seq = ack["message"]["seq"]
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": seq - 1})
    (message,) = synced["events"]
    (url,) = message["attachments"]
    assert url.startswith(f"/files/{body['id']}/photo.png?exp=")
    assert (await _get(http, server.url + url))[1] == PNG


async def test_limits_and_types_are_refused_each_with_its_own_code(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Hello")
    await world.services.files.set_limits(
        TenantId("default"), FileLimits(max_bytes=100, allowed_types=("image/png",))
    )
    status, body = await _upload(http, server, visitor, conversation_id, data=b"x" * 101)
    assert (status, body["code"]) == (413, "file_too_large")
    status, body = await _upload(
        http, server, visitor, conversation_id, data=b"%PDF-1.4", content_type="application/pdf"
    )
    assert (status, body["code"]) == (415, "file_type_not_allowed")
    status, body = await _upload(
        http, server, visitor, conversation_id, data=b"<svg/>", content_type="image/svg+xml"
    )
    assert (status, body["code"]) == (415, "file_type_not_allowed")
    status, body = await _upload(http, server, visitor, conversation_id, token="x" * 32)
    assert (status, body["code"]) == (401, "unauthenticated")


async def test_tampered_expired_and_unsigned_urls_are_403(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor
) -> None:
    conversation_id = await visitor.start("Hello")
    _, body = await _upload(http, server, visitor, conversation_id)
    file_id = body["id"]
    url: str = server.url + body["url"]
    tampered = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    later_exp = url.replace("exp=", "exp=9")
    past = FakeClock(datetime.now(UTC) - timedelta(hours=1))
    old = FileLinks(settings=FileLinkSettings(secret=b"test-file-links"), clock=past)
    expired = server.url + old.visitor_url(FileId(file_id))
    for refused in (tampered, later_exp, expired, f"{server.url}/files/{file_id}"):
        status, data, headers = await _get(http, refused)
        assert status == 403, refused
        assert PNG not in data
        assert headers["X-Content-Type-Options"] == "nosniff"
    assert (await _get(http, url))[0] == 200


async def test_another_visitor_cannot_attach_or_upload_to_the_chat(
    http: aiohttp.ClientSession, server: Server, new_visitor: VisitorFactory
) -> None:
    ann, bob = new_visitor(), new_visitor()
    await ann.connect({"tenant": "default"})
    await bob.connect({"tenant": "default"})
    ann_chat = await ann.start("Hello")
    bob_chat = await bob.start("Hi")
    _, body = await _upload(http, server, ann, ann_chat)
    ack = await bob.call(
        "message.send",
        {
            "conversation_id": bob_chat,
            "client_msg_id": "m1",
            "text": "",
            "attachments": [body["id"]],
        },
    )
    assert ack["ok"] is False
    assert ack["error"]["code"] == "forbidden", ack
    status, refused = await _upload(http, server, bob, ann_chat)
    assert (status, refused["code"]) == (403, "forbidden")


async def test_an_html_file_is_served_so_that_it_cannot_run(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Hello")
    await world.services.files.set_limits(
        TenantId("default"), FileLimits(allowed_types=("text/html",))
    )
    page = b"<script>alert(document.cookie)</script>"
    _, body = await _upload(
        http, server, visitor, conversation_id, data=page, name="x.html", content_type="text/html"
    )
    status, data, headers = await _get(http, server.url + body["url"])
    assert (status, data) == (200, page)
    assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''x.html"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


async def test_an_agent_file_from_their_server_reaches_the_visitor_as_the_engines_own(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor, world: World
) -> None:
    conversation_id = ConversationId(await visitor.start("Can I see it?"))
    alice = await ready_agent(world, "alice@agents.example")
    shared = "https://upload.agents.example/share/abc/manual.pdf"
    world.fetcher.files[shared] = FetchedFile(
        data=b"%PDF-1.4 manual", content_type="application/pdf", name="manual.pdf"
    )
    elsewhere = "https://elsewhere.example/x.pdf"
    urls, copied = await world.services.files.copy_agent_files(
        conversation_id, [shared, elsewhere], agent_id=alice, agent_address="alice@agents.example"
    )
    assert urls == (elsewhere,)
    assert len(copied) == 1
    assert world.fetcher.asked == [(shared, FileLimits().max_bytes)]
    await world.services.messaging.send_agent_message(
        SendAgentMessage(
            agent_id=alice,
            conversation_id=conversation_id,
            text="",
            attachments=urls,
            copied=copied,
        )
    )
    message = await visitor.event_of_type("message")
    while message["from"]["kind"] != "agent":
        message = await visitor.event_of_type("message")
    kept, own = message["attachments"]
    assert kept == elsewhere
    status, data, headers = await _get(http, server.url + own)
    assert (status, data) == (200, b"%PDF-1.4 manual")
    assert headers["Content-Disposition"] == "attachment; filename*=UTF-8''manual.pdf"


async def test_a_malformed_upload_is_a_clear_400_not_an_internal_error(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor
) -> None:
    await visitor.start("Hello")
    headers = {"Authorization": f"Bearer {visitor.token}", "X-Chat-Tenant": "default"}
    for content_type in ("multipart/form-data", "multipart/form-data; boundary="):
        sent = {**headers, "Content-Type": content_type}
        async with http.post(server.url + UPLOAD, data=b"x", headers=sent) as response:
            assert response.status == 400, await response.text()
            assert (await response.json())["code"] == "invalid_input"


async def test_an_upload_cut_off_before_its_closing_boundary_is_refused(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor
) -> None:
    conversation_id = await visitor.start("Hello")
    boundary = "b0undary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="conversation_id"\r\n\r\n'
        f"{conversation_id}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="photo.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + PNG[:20]  # the client stopped here: no closing boundary
    headers = {
        "Authorization": f"Bearer {visitor.token}",
        "X-Chat-Tenant": "default",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    async with http.post(server.url + UPLOAD, data=body, headers=headers) as response:
        assert response.status == 400, await response.text()
        assert (await response.json())["code"] == "invalid_input"
