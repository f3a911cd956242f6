"""``chat-engine tenant files`` and ``chat-engine files purge`` against a real SQLite
file and the local blob store: what an administrator types and sees. A purge deletes the
old files' bytes from the configured directory and their records; a dry run deletes
nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from business.commands import OpenSession, StartConversation
from business.file_model import FileId
from business.file_settings import FileSettings
from business.files import UploadFile
from business.model import DEFAULT_TENANT
from chat_engine.bootstrap import bootstrap
from data import Database
from data.blob_store import LocalBlobStore
from tests.chat_engine.test_cli import db_url, run
from tests.fakes import FakeClock


def test_file_settings_are_shown_and_changed_a_piece_at_a_time(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    code, output = run(["tenant", "files", "default", "--database-url", url])
    assert code == 0, output
    lines = output.splitlines()
    assert lines[0] == "files of tenant default"
    assert lines[1] == "largest upload: 10485760 bytes (10.0 MiB)"
    assert lines[3] == "kept: for ever"

    code, output = run(
        [
            *("tenant", "files", "default", "--max-bytes", "2048", "--allow", "image/png"),
            *("--allow", "Application/PDF", "--retention-days", "30", "--database-url", url),
        ]
    )
    assert code == 0, output
    assert output == (
        "files of tenant default\n"
        "largest upload: 2048 bytes (2.0 KiB)\n"
        "allowed types: application/pdf, image/png\n"
        "kept: 30 days, then deleted\n"
    )
    code, output = run(
        ["tenant", "files", "default", "--retention-days", "0", "--database-url", url]
    )
    assert output.splitlines()[1:] == [
        "largest upload: 2048 bytes (2.0 KiB)",
        "allowed types: application/pdf, image/png",
        "kept: for ever",
    ]


def test_bad_values_fail_with_one_clear_line(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    for argv, code in [
        (["tenant", "files", "default", "--allow", "image/svg+xml"], 2),
        (["tenant", "files", "nobody", "--retention-days", "3"], 2),
        (["tenant", "files", "default", "--retention-days", "99999"], 2),
        (["files", "purge", "--tenant", "nobody"], 2),
    ]:
        got, output = run([*argv, "--database-url", url])
        assert (got, output) == (code, ""), argv
    code, output = run(["tenant", "files", "default", "--database-url", url])
    assert "kept: for ever" in output
    assert "image/svg+xml" not in output


async def _old_file(url: str, files: Path, age_days: int, data: bytes) -> FileId:
    database = Database.from_url(url)
    try:
        services = bootstrap(
            uow=database.unit_of_work,
            clock=FakeClock(datetime.now(UTC) - timedelta(days=age_days)),
            files=FileSettings(dir=str(files), copy_agent_files=False),
            blobs=LocalBlobStore(files),
        )
        session = await services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
        conversation = await services.conversations.start_conversation(
            StartConversation(visitor_id=session.visitor.id)
        )
        stored = await services.files.upload(
            UploadFile(
                tenant_id=DEFAULT_TENANT,
                visitor_token=session.visitor_token,
                conversation_id=conversation.id,
                name="scan.pdf",
                content_type="application/pdf",
                data=data,
            )
        )
        return stored.id
    finally:
        await database.dispose()


def test_purge_deletes_the_old_files_bytes_and_records(tmp_path: Path) -> None:
    url = db_url(tmp_path)
    files = tmp_path / "files"
    env = {"CHAT_ENGINE_FILES_DIR": str(files)}
    code, output = run(["files", "purge", "--database-url", url], env)
    assert (code, output) == (0, "no tenant has a file retention: nothing to purge\n")
    run(["tenant", "files", "default", "--retention-days", "30", "--database-url", url])
    old = asyncio.run(_old_file(url, files, 40, b"%PDF old scan"))
    recent = asyncio.run(_old_file(url, files, 10, b"%PDF recent"))
    old_path, recent_path = (files / key[:2] / key for key in (old, recent))
    assert old_path.read_bytes() == b"%PDF old scan"

    code, output = run(["files", "purge", "--dry-run", "--database-url", url], env)
    assert (code, output) == (
        0,
        "tenant default: would delete 1 files (13 bytes) older than 30 days\n",
    )
    assert old_path.exists()

    code, output = run(["files", "purge", "--tenant", "default", "--database-url", url], env)
    assert (code, output) == (0, "tenant default: deleted 1 files (13 bytes) older than 30 days\n")
    assert not old_path.exists()
    assert recent_path.read_bytes() == b"%PDF recent"
    code, output = run(["files", "purge", "--dry-run", "--database-url", url], env)
    assert output == "tenant default: would delete 0 files (0 bytes) older than 30 days\n"
