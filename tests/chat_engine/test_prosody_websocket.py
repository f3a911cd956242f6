"""XMPP over WebSocket (RFC 7395) on the private Prosody, for browser clients such as
Converse.js: off unless asked for, loopback only, and a real session opens and logs in."""

from __future__ import annotations

import base64
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer

needs_prosody = pytest.mark.skipif(shutil.which("prosody") is None, reason="no Prosody")

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
STREAMS = "http://etherx.jabber.org/streams"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"


def new_server(base: Path, websocket_port: int | None) -> ProsodyServer:
    return ProsodyServer(
        base,
        component_secret=secrets.token_hex(16),
        c2s_port=free_port(),
        component_port=free_port(),
        websocket_port=websocket_port,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ProsodyServer]:
    prosody = new_server(tmp_path / "prosody", free_port())
    yield prosody
    prosody.stop()


def test_without_a_websocket_port_there_is_no_http_at_all(tmp_path: Path) -> None:
    prosody = new_server(tmp_path / "prosody", None)

    text = prosody.write_config().read_text()

    assert prosody.websocket_url is None
    assert '"websocket";' not in text
    assert "http_ports" not in text


def test_the_websocket_listener_is_on_loopback_only(server: ProsodyServer) -> None:
    text = server.write_config().read_text()

    assert '"websocket";' in text
    assert f"http_ports = {{ {server.websocket_port} }}" in text
    assert 'http_interfaces = { "127.0.0.1" }' in text
    # No HTTPS listener on Prosody's default 5281, on any interface.
    assert "https_ports = { }" in text
    assert 'https_interfaces = { "127.0.0.1" }' in text
    assert 'http_default_host = "localhost"' in text
    assert server.websocket_url == f"ws://127.0.0.1:{server.websocket_port}/xmpp-websocket"


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel lists them) of TCP sockets listening on
    ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


async def receive(ws: aiohttp.ClientWebSocketResponse) -> ET.Element:
    message = await ws.receive(timeout=10)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    return ET.fromstring(message.data)


async def open_stream(ws: aiohttp.ClientWebSocketResponse) -> ET.Element:
    """Open (or restart) the stream; the server's features."""
    await ws.send_str(f'<open xmlns="{FRAMING}" to="localhost" version="1.0"/>')
    opened = await receive(ws)
    assert opened.tag == f"{{{FRAMING}}}open"
    assert opened.get("from") == "localhost"
    features = await receive(ws)
    assert features.tag == f"{{{STREAMS}}}features"
    return features


@needs_prosody
async def test_a_browser_client_opens_a_session_and_logs_in(server: ProsodyServer) -> None:
    await server.astart(timeout=30)
    password = secrets.token_urlsafe(12)
    jid = await server.aregister("webagent", password)
    url = server.websocket_url
    assert url is not None
    port = server.websocket_port
    assert port is not None
    # 0100007F is 127.0.0.1 as /proc/net/tcp writes it.
    assert listening_addresses(port) == {"0100007F"}

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, protocols=("xmpp",)) as ws,
    ):
        assert ws.protocol == "xmpp"
        features = await open_stream(ws)
        # Loopback counts as encrypted (c2s_require_encryption), so the server offers
        # to log in at once, as it does after STARTTLS on the client port.
        mechanisms = [m.text for m in features.iter(f"{{{SASL}}}mechanism")]
        assert "PLAIN" in mechanisms
        credentials = base64.b64encode(f"\0{jid.partition('@')[0]}\0{password}".encode())
        await ws.send_str(f'<auth xmlns="{SASL}" mechanism="PLAIN">{credentials.decode()}</auth>')
        answer = await receive(ws)
        assert answer.tag == f"{{{SASL}}}success", ET.tostring(answer)
        restarted = await open_stream(ws)
        assert restarted.find("{urn:ietf:params:xml:ns:xmpp-bind}bind") is not None
        await ws.send_str(f'<close xmlns="{FRAMING}"/>')
