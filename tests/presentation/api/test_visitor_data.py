"""A visitor's export and erasure through the REST API, over SQLite and PostgreSQL:
the export holds each kind of data kept about them (with working file links), the
erasure is refused while a chat is open and then leaves no trace of their name, address
or texts in any table nor any byte of their files, and both are in the audit log, as
every change made with an admin key is and no read is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import pytest
from sqlalchemy import select

from business.identity_model import VisitorIdentity
from business.model import DEFAULT_TENANT, ConversationId, VisitorId
from business.transcript_mail_ports import QueuedTranscript, TranscriptMailId
from data import Database
from data.models import Base
from tests.harness import World
from tests.presentation.api.client import ApiClient
from tests.presentation.api.conftest import Keys
from tests.presentation.conftest import Server
from tests.presentation.test_files_http import PNG, _upload
from tests.visitor_client import Visitor

NAME = "Zelda Quux"
EMAIL = "zelda@example.org"
TEXT = "my order 7781 is broken"
OFFLINE_TEXT = "please call me back on 555-0199"
PAGE = "https://shop.example/zelda-page"
CUSTOM = "ZQ-CUSTOM-PLAN"
SUB = "crm-sub-zelda-42"
TRACES = (NAME, EMAIL, TEXT, OFFLINE_TEXT, PAGE, CUSTOM, SUB, "zelda")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _everything(database: Database) -> str:
    """Every row of every table, as text."""
    dump = []
    async with database.begin() as connection:
        for table in Base.metadata.sorted_tables:
            for row in await connection.execute(select(table)):
                dump.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(dump)


async def _visitor_with_everything(
    http: aiohttp.ClientSession,
    server: Server,
    visitor: Visitor,
    world: World,
    api: ApiClient,
    keys: Keys,
) -> tuple[VisitorId, ConversationId, str]:
    visitor_id = VisitorId(visitor.session["visitor_id"])
    conversation_id = ConversationId(
        await visitor.start(
            TEXT,
            form={"name": NAME, "email": EMAIL},
            context={"page_url": PAGE, "custom": {"plan": CUSTOM}},
        )
    )
    status, body = await _upload(http, server, visitor, conversation_id)
    assert status == 201, body
    await visitor.ok(
        "message.send",
        {
            "conversation_id": conversation_id,
            "client_msg_id": "m-photo",
            "text": f"photo of {NAME}'s parcel",
            "attachments": [body["id"]],
        },
    )
    now = datetime.now(UTC)
    async with world.uow() as uow:
        await uow.visitor_identities.put(
            VisitorIdentity(
                tenant_id=DEFAULT_TENANT,
                sub=SUB,
                visitor_id=visitor_id,
                name=NAME,
                email=EMAIL,
                extra={"crm": CUSTOM},
                verified_at=now,
            )
        )
        await uow.transcript_mails.add(
            QueuedTranscript(
                id=TranscriptMailId("tm-zelda"),
                tenant_id=DEFAULT_TENANT,
                conversation_id=conversation_id,
                number=1,
                address=EMAIL,
                created_at=now,
                next_attempt_at=now,
            )
        )
        await uow.commit()
    ended = await api.post(f"/conversations/{conversation_id}/end", keys.admin, {})
    assert ended.status == 200, ended.body
    # Nobody is ready: an offline message, a conversation of its own, still waiting.
    await visitor.ok(
        "offline.leave",
        {"client_msg_id": "off-1", "name": NAME, "email": EMAIL, "text": OFFLINE_TEXT},
    )
    return visitor_id, conversation_id, body["id"]


async def test_export_holds_everything_and_erase_leaves_no_trace(
    http: aiohttp.ClientSession,
    server: Server,
    visitor: Visitor,
    world: World,
    api: ApiClient,
    keys: Keys,
    database: Database,
) -> None:
    visitor_id, conversation_id, file_id = await _visitor_with_everything(
        http, server, visitor, world, api, keys
    )
    exported = await api.get(f"/visitors/{visitor_id}/export", keys.admin)
    assert exported.status == 200, exported.body
    doc = exported.body
    assert doc["visitor"]["id"] == visitor_id
    assert [(i["sub"], i["email"], i["extra"]) for i in doc["identities"]] == [
        (SUB, EMAIL, {"crm": CUSTOM})
    ]
    first, offline = doc["conversations"]
    assert first["id"] == conversation_id
    assert first["form"] == {"name": NAME, "email": EMAIL}
    assert first["context"]["page_url"] == PAGE
    assert first["context"]["custom"] == {"plan": CUSTOM}
    texts = [e["text"] for e in first["events"] if e["type"] == "message"]
    assert texts == [TEXT, f"photo of {NAME}'s parcel"]
    assert offline["offline"] is True
    assert OFFLINE_TEXT in [e["text"] for e in offline["events"]]
    assert [m["address"] for m in doc["transcript_mails"]] == [EMAIL]
    (file,) = doc["files"]
    assert (file["id"], file["name"], file["size"]) == (file_id, "photo.png", len(PNG))
    async with http.get(server.url + file["url"]) as response:
        assert (response.status, await response.read()) == (200, PNG)

    # Refused while the offline message waits: it is an open conversation.
    refused = await api.call("DELETE", f"/visitors/{visitor_id}", key=keys.admin)
    assert refused.status == 409, refused.body
    assert offline["id"] in refused.body["detail"]
    assert (await api.post(f"/conversations/{offline['id']}/end", keys.admin, {})).status == 200

    erased = await api.call("DELETE", f"/visitors/{visitor_id}", key=keys.admin)
    assert erased.status == 200, erased.body
    assert erased.body["counts"]["offline_messages"] == 1
    assert erased.body["counts"]["identities"] == 1
    assert erased.body["counts"]["files"] == 1
    assert world.blobs.blobs == {}
    dump = await _everything(database)
    for trace in TRACES:
        assert trace not in dump, trace
    # What stays: the visitor (nameless), the first conversation with "[erased]" texts,
    # and its report for the statistics.
    after = await api.get(f"/visitors/{visitor_id}/export", keys.admin)
    (kept,) = after.body["conversations"]
    assert [e["text"] for e in kept["events"] if e["type"] == "message"] == ["[erased]"] * 2
    assert after.body["identities"] == after.body["files"] == []
    report = await api.get(f"/conversations/{conversation_id}", keys.admin)
    assert report.status == 200

    again = await api.call("DELETE", f"/visitors/{visitor_id}", key=keys.admin)
    assert again.status == 200, again.body
    other = await api.call("DELETE", f"/visitors/{visitor_id}", key=keys.other_admin)
    assert other.status == 404
    assert (await api.call("DELETE", f"/visitors/{visitor_id}", key=keys.read)).status == 403

    log = await api.get("/audit-log", keys.admin)
    actions = [(e["action"], e["target"]) for e in log.body["entries"]]
    assert actions.count(("visitor.erase", visitor_id)) == 2
    assert actions.count(("visitor.export", visitor_id)) == 2
    assert ("end_conversation", f"/api/v1/conversations/{conversation_id}/end") in actions
    # The refused erase and the other tenant's attempt left nothing; nor did any read.
    assert len(actions) == 2 + 2 + 2
    assert all(e["actor"].startswith("apikey:") for e in log.body["entries"])
    assert (await api.get("/audit-log", keys.other_admin)).body["entries"] == []
    assert (await api.get("/audit-log", keys.read)).status == 403


async def test_every_admin_write_is_audited_and_no_read(
    api: ApiClient, keys: Keys, world: World
) -> None:
    assert (await api.get("/retention-settings", keys.admin)).body == {
        "conversations_days": None,
        "visitors_days": None,
    }
    patched = await api.call(
        "PATCH", "/retention-settings", key=keys.admin, json={"conversations_days": 30}
    )
    assert patched.body == {"conversations_days": 30, "visitors_days": None}
    await api.get("/file-settings", keys.admin)
    await api.get("/retention-settings", keys.admin)
    bad = await api.call("PATCH", "/retention-settings", key=keys.admin, json={"visitors_days": -1})
    assert bad.status == 400
    (entry,) = (await api.get("/audit-log", keys.admin)).body["entries"]
    assert entry["action"] == "patch_retention_settings"
    assert entry["target"] == "/api/v1/retention-settings"
    assert entry["detail"] == {"method": "PATCH", "fields": ["conversations_days"]}
    kept = await world.services.retention_settings.get(DEFAULT_TENANT)
    assert kept.conversations_days == 30
