"""Engine.IO / Socket.IO clients that send and stop reading: the consumers a server must
cut off before their unread output fills its memory.

The python-socketio client always reads, so these speak the wire format themselves:
Engine.IO v4 packets (``4`` = message) carrying Socket.IO v5 packets (``40`` connect,
``42`` event, with the namespace and an ack id).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

NAMESPACE = "/visitor"


def connect_packet(auth: object) -> str:
    """A Socket.IO CONNECT to the visitor namespace (``send`` adds Engine.IO's ``4``)."""
    return f"0{NAMESPACE},{json.dumps(auth)}"


def event_packet(ack_id: int, event: str, payload: object) -> str:
    """A Socket.IO EVENT asking for an ack."""
    return f"2{NAMESPACE},{ack_id}{json.dumps([event, payload])}"


def _ws_frame(text: str) -> bytes:
    """One masked text frame, as a client must send it (RFC 6455, 5.2)."""
    payload = text.encode()
    size = len(payload)
    header = bytearray([0x81])
    if size < 126:
        header.append(0x80 | size)
    elif size < 1 << 16:
        header.append(0x80 | 126)
        header += size.to_bytes(2, "big")
    else:
        header.append(0x80 | 127)
        header += size.to_bytes(8, "big")
    mask = os.urandom(4)
    header += mask
    return bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class StalledWebSocket:
    """A WebSocket on a socket with a tiny receive buffer that, after the handshake, only
    ever writes: what the server sends piles up on the server's side."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, url: str, *, sid: str | None = None) -> StalledWebSocket:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the window the server sees stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        query = "EIO=4&transport=websocket" + (f"&sid={sid}" if sid else "")
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /socket.io/?{query} HTTP/1.1\r\n"
                f"Host: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert status.startswith(b"HTTP/1.1 101"), status
        return cls(reader=reader, writer=writer)

    async def send(self, *packets: str) -> None:
        """Engine.IO message packets (the leading ``4`` is added here)."""
        for packet in packets:
            self.writer.write(_ws_frame("4" + packet))
        await self.writer.drain()

    async def send_raw(self, engineio_packet: str) -> None:
        self.writer.write(_ws_frame(engineio_packet))
        await self.writer.drain()

    async def hung_up(self) -> bool:
        """Whether the server has closed the connection (reading what was left unread)."""
        try:
            async with asyncio.timeout(5):
                while await self.reader.read(1 << 16):
                    pass
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.transport.abort()


@dataclass
class StalledPolling:
    """An HTTP long-polling client that posts but never polls for what the server sends."""

    http: aiohttp.ClientSession
    url: str
    sid: str

    @classmethod
    async def open(cls, url: str) -> StalledPolling:
        http = aiohttp.ClientSession()
        try:
            async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as response:
                body = await response.text()
            assert body.startswith("0"), body
            sid = json.loads(body[1:])["sid"]
        except BaseException:
            await http.close()
            raise
        return cls(http=http, url=url, sid=sid)

    async def send(self, *packets: str) -> int:
        """Posts Engine.IO message packets in one payload; the HTTP status."""
        return await self.send_raw(*("4" + packet for packet in packets))

    async def send_raw(self, *engineio_packets: str) -> int:
        """Posts Engine.IO packets (``1``: close) in one payload; the HTTP status."""
        body = "\x1e".join(engineio_packets)
        async with self.http.post(
            f"{self.url}/socket.io/?EIO=4&transport=polling&sid={self.sid}",
            data=body.encode(),
            headers={"Content-Type": "text/plain;charset=UTF-8"},
        ) as response:
            await response.read()
            return response.status

    async def close(self) -> None:
        await self.http.close()
