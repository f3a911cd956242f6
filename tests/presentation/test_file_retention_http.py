"""A purged file over HTTP, SQLite and PostgreSQL: the visitor's message keeps its
attachment, and its link, still correctly signed, answers 410 Gone with a sentence a
person can read (a JSON problem ``file_gone`` for a program that asks for JSON), served
as safely as any file; a link to a file never stored stays 403 (unsigned) as before."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from business.file_config import ConfigureFiles
from business.file_retention import FileRetentionService
from business.model import DEFAULT_TENANT
from business.transactions import Transactions
from presentation.file_api import GONE_TEXT
from tests.fakes import FakeClock
from tests.harness import World
from tests.presentation.conftest import Server
from tests.presentation.test_files_http import PNG, _get, _upload
from tests.visitor_client import Visitor


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_a_purged_files_link_says_it_is_no_longer_available(
    http: aiohttp.ClientSession, server: Server, visitor: Visitor, world: World
) -> None:
    conversation_id = await visitor.start("Here is the photo")
    status, body = await _upload(http, server, visitor, conversation_id)
    assert status == 201, body
    ack = await visitor.ok(
        "message.send",
        {
            "conversation_id": conversation_id,
            "client_msg_id": "m-photo",
            "text": "",
            "attachments": [body["id"]],
        },
    )
    await world.services.file_config.configure(
        ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=1)
    )
    # Nothing is a day old yet: the engine's own purge leaves the file alone.
    assert (await world.services.file_retention.purge())[0].files == 0
    assert (await _get(http, server.url + body["url"]))[0] == 200

    # Two days on, as the engine's purger would see it then.
    later = FakeClock(datetime.now(UTC) + timedelta(days=2))
    purge = FileRetentionService(
        transactions=Transactions(world.uow, world.services.publisher),
        blobs=world.blobs,
        clock=later,
    )
    (done,) = await purge.purge()
    assert (done.files, done.bytes) == (1, len(PNG))
    assert world.blobs.blobs == {}

    seq = ack["message"]["seq"]
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": seq - 1})
    (message,) = synced["events"]
    (url,) = message["attachments"]  # the message still shows its file
    status, data, headers = await _get(http, server.url + url)
    assert status == 410
    assert data.decode() == GONE_TEXT
    assert "no longer available" in GONE_TEXT
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["Cache-Control"] == "no-store"

    async with http.get(server.url + url, headers={"Accept": "application/json"}) as response:
        problem = json.loads(await response.text())
        assert response.status == 410
    assert problem["code"] == "file_gone"
    assert "no longer available" in problem["detail"]

    # Unsigned, the same path is refused as before: being gone is told only to a link
    # the engine handed out.
    assert (await _get(http, f"{server.url}/files/{body['id']}"))[0] == 403
