"""XEP-0363 file sharing on the private Prosody (``http_file_share``), so the agents'
clients can send files: on only with the HTTP listener, and a real upload by an agent's
client gives a URL on the agents' own domain that the engine's fetcher downloads (so the
engine copies the file in rather than pass Prosody's link to the visitor)."""

from __future__ import annotations

import asyncio
import io
import secrets
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import slixmpp

from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer
from presentation.file_fetcher import AiohttpFileFetcher
from tests.chat_engine.test_prosody_websocket import new_server

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("prosody") is None, reason="no Prosody"),
]

PDF = b"%PDF-1.4 a manual"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProsodyServer]:
    prosody = new_server(tmp_path / "prosody", free_port())
    prosody.start(timeout=30)
    yield prosody
    prosody.stop()


def test_file_sharing_is_off_without_the_http_listener(tmp_path: Path) -> None:
    text = new_server(tmp_path / "prosody", None).write_config().read_text()
    assert "http_file_share" not in text


async def test_an_agents_upload_is_on_their_domain_and_the_engine_can_fetch_it(
    server: ProsodyServer,
) -> None:
    password = secrets.token_urlsafe(12)
    jid = server.register("uploader", password)
    client = slixmpp.ClientXMPP(jid, password)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    client.ssl_context = ctx
    client.register_plugin("xep_0030")
    client.register_plugin("xep_0363")
    started = asyncio.get_running_loop().create_future()
    client.add_event_handler("session_start", lambda _: started.set_result(None))
    client.connect(host=server.host, port=server.c2s_port)
    try:
        await asyncio.wait_for(started, 20)
        url = await client.plugin["xep_0363"].upload_file(
            "manual.pdf",
            size=len(PDF),
            content_type="application/pdf",
            input_file=io.BytesIO(PDF),
            timeout=20,
        )
    finally:
        client.disconnect()
    assert urlsplit(url).hostname == server.domain  # the engine fetches only from there
    fetched = await AiohttpFileFetcher(timeout=10).fetch(url, max_bytes=1024)
    assert fetched is not None
    assert (fetched.data, fetched.name) == (PDF, "manual.pdf")
