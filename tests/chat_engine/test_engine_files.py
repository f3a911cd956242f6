"""The wired engine with its files in an S3-compatible store (moto's real server on
loopback) against a real Prosody: an upload lands in the bucket under the prefix, is
served through its signed link, and once its tenant's retention has passed the engine's
own purger deletes it from the bucket and the database, after which the link answers
410 Gone."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import botocore.session
import pytest

from business.commands import OpenSession, StartConversation
from business.file_config import ConfigureFiles
from business.files import UploadFile
from business.model import DEFAULT_TENANT
from chat_engine.engine import Engine
from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from chat_engine.settings import load_settings
from tests.fakes import FakeClock
from tests.s3_server import S3Server, s3_server

__all__ = ["s3_server"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="Prosody is not installed"),
]

PDF = b"%PDF-1.4 the invoice"


@pytest.fixture(scope="module")
def prosody(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProsodyServer]:
    server = ProsodyServer(
        tmp_path_factory.mktemp("prosody"),
        component_secret="engine-files-secret-engine-files-secret",
        c2s_port=free_port(),
        component_port=free_port(),
    )
    server.start()
    yield server
    server.stop()


def _objects(server: S3Server, bucket: str) -> list[str]:
    client = botocore.session.get_session().create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        aws_access_key_id="test-access-key",
        aws_secret_access_key="test-secret-key-never-logged",
    )
    try:
        listed = client.list_objects_v2(Bucket=bucket)
    finally:
        client.close()
    return [item["Key"] for item in listed.get("Contents", [])]


async def test_files_in_s3_are_served_and_purged_by_the_engine(
    prosody: ProsodyServer, s3_server: S3Server, tmp_path: Path
) -> None:
    location = s3_server.new_bucket()
    secret_file = tmp_path / "s3-secret"
    secret_file.write_text(f"{location.secret_access_key}\n")
    settings = load_settings(
        None,
        {"CHAT_ENGINE_FILES_S3_SECRET_ACCESS_KEY_FILE": str(secret_file)},
        {
            "http.port": 0,
            "database.url": f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}",
            "xmpp.host": prosody.host,
            "xmpp.port": prosody.component_port,
            "xmpp.secret": prosody.component_secret,
            "files.store": "s3",
            "files.s3_endpoint_url": location.endpoint_url,
            "files.s3_bucket": location.bucket,
            "files.s3_prefix": "engine/",
            "files.s3_region": "us-east-1",
            "files.s3_access_key_id": location.access_key_id,
            "files.purge_interval_seconds": 0.2,
        },
    )
    assert settings.files.s3_secret_access_key == location.secret_access_key
    assert str(location.secret_access_key) not in repr(settings)
    clock = FakeClock(datetime.now(UTC))
    async with Engine(settings, clock=clock) as engine, aiohttp.ClientSession() as http:
        services = engine.services
        session = await services.sessions.open_session(OpenSession(tenant_id=DEFAULT_TENANT))
        conversation = await services.conversations.start_conversation(
            StartConversation(visitor_id=session.visitor.id)
        )
        stored = await services.files.upload(
            UploadFile(
                tenant_id=DEFAULT_TENANT,
                visitor_token=session.visitor_token,
                conversation_id=conversation.id,
                name="invoice.pdf",
                content_type="application/pdf",
                data=PDF,
            )
        )
        assert _objects(s3_server, location.bucket) == [f"engine/{stored.id}"]
        url = services.files.links.visitor_url(stored.id, stored.name)
        async with http.get(url) as response:
            assert (response.status, await response.read()) == (200, PDF)

        await services.file_config.configure(
            ConfigureFiles(tenant_id=DEFAULT_TENANT, retention_days=1)
        )
        clock.advance(2 * 86_400)
        for _ in range(100):
            if not _objects(s3_server, location.bucket):
                break
            await asyncio.sleep(0.1)
        assert _objects(s3_server, location.bucket) == []
        url = services.files.links.visitor_url(stored.id, stored.name)
        async with http.get(url) as response:
            assert response.status == 410
            assert "no longer available" in await response.text()
