"""``chat-engine tenant retention``, ``retention purge``, ``visitor export|erase`` and
``audit list`` against a real SQLite file and the local blob store: what an
administrator types and sees; each changing command leaves one audit entry, reads
none."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

from business.commands import OpenSession, StartConversation
from business.file_settings import FileSettings
from business.files import UploadFile
from business.integrator_commands import EndByIntegrator
from business.model import DEFAULT_TENANT, VisitorId
from chat_engine.bootstrap import bootstrap
from data import Database
from data.blob_store import LocalBlobStore
from tests.chat_engine.test_cli import db_url, run
from tests.fakes import FakeClock


async def _visitor(url: str, files: Path) -> VisitorId:
    database = Database.from_url(url)
    try:
        services = bootstrap(
            uow=database.unit_of_work,
            clock=FakeClock(datetime.now(UTC)),
            files=FileSettings(dir=str(files), copy_agent_files=False),
            blobs=LocalBlobStore(files),
        )
        session = await services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
        conversation = await services.conversations.start_conversation(
            StartConversation(
                visitor_id=session.visitor.id, form={"name": "Olga Pekka", "email": "o@p.example"}
            )
        )
        await services.files.upload(
            UploadFile(
                tenant_id=DEFAULT_TENANT,
                visitor_token=session.visitor_token,
                conversation_id=conversation.id,
                name="scan.pdf",
                content_type="application/pdf",
                data=b"%PDF olga",
            )
        )
        await services.integrator_control.end(
            EndByIntegrator(tenant_id=DEFAULT_TENANT, conversation_id=conversation.id)
        )
        return session.visitor.id
    finally:
        await database.dispose()


def _audit(url: str) -> list[list[str]]:
    code, output = run(["audit", "list", "--database-url", url])
    assert code == 0, output
    return [line.split() for line in output.splitlines()[1:]]


def test_retention_is_shown_changed_and_audited_once(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(["tenant", "retention", "default", "--database-url", url])
    assert (code, output) == (
        0,
        "retention of tenant default\nended conversations: for ever\nidle visitors: for ever\n",
    )
    code, output = run(
        ["tenant", "retention", "default", "--conversations-days", "30", "--database-url", url]
    )
    assert output.splitlines()[1:] == ["ended conversations: 30 days", "idle visitors: for ever"]
    code, output = run(["retention", "purge", "--dry-run", "--database-url", url])
    assert output == "tenant default: would delete 0 conversations (0 files) and 0 visitors\n"
    assert (
        run(["tenant", "retention", "nobody", "--visitors-days", "3", "--database-url", url])[0]
        == 2
    )
    (entry,) = _audit(url)
    assert entry[2:] == [
        f"cli:{getpass.getuser()}",
        "tenant.retention",
        "default",
        "-",
        '{"options":',
        '["conversations_days"]}',
    ]
    run(["retention", "purge", "--database-url", url])
    assert [e[3] for e in _audit(url)] == ["retention.purge", "tenant.retention"]


def test_export_writes_json_and_files_and_erase_needs_yes(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    files = tmp_path / "files"
    env = {"CHAT_ENGINE_FILES_DIR": str(files)}
    assert run(["db", "upgrade", "--database-url", url])[0] == 0  # and the default tenant
    visitor = asyncio.run(_visitor(url, files))
    out = tmp_path / "export"
    code, output = run(
        ["visitor", "export", "default", visitor, "--out", str(out), "--database-url", url], env
    )
    assert (code, output) == (0, f"visitor {visitor}: 1 conversations, 1 files written to {out}\n")
    document = json.loads((out / "visitor.json").read_text())
    (conversation,) = document["conversations"]
    assert conversation["form"] == {"name": "Olga Pekka", "email": "o@p.example"}
    (file,) = document["files"]
    assert (out / file["url"]).read_bytes() == b"%PDF olga"

    code, output = run(["visitor", "erase", "default", visitor, "--database-url", url], env)
    assert (code, output) == (2, "")  # not confirmed: nothing erased
    code, output = run(
        ["visitor", "erase", "default", visitor, "--yes", "--database-url", url], env
    )
    assert code == 0, output
    assert output.startswith(f"visitor {visitor} erased: ")
    assert not any(p.is_file() for p in files.rglob("*"))
    code, output = run(
        [
            "visitor",
            "export",
            "default",
            visitor,
            "--out",
            str(out / "after"),
            "--database-url",
            url,
        ]
    )
    after = json.loads((out / "after" / "visitor.json").read_text())
    assert after["conversations"][0]["form"] == {}
    assert "Olga" not in json.dumps(after)
    assert [e[3] for e in _audit(url)] == [
        "visitor.export",
        "visitor.erase",
        "visitor.export",
        "db.upgrade",
    ]
    assert run(["visitor", "erase", "default", "nobody", "--yes", "--database-url", url])[0] == 2
