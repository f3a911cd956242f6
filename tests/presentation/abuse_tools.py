"""Tools of the abuse tests (``test_abuse_*``) and ``bench/abuse.py``: a well-behaved
visitor from another loopback address that times its round trips, raw WebSocket and
HTTP attackers, compressed bombs, and the process's resident memory.

Loopback is a whole network (127.0.0.0/8): a client socket bound to ``127.0.0.2`` is
another client address to the server, with budgets of its own, while the attackers
come from ``127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import statistics
import struct
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

from tests.visitor_client import Visitor

ATTACKER = "127.0.0.1"
BYSTANDER = "127.0.0.2"
"""The well-behaved visitor's address: loopback, but not the attackers'."""

MIB = 1 << 20


def rss_bytes() -> int:
    """This process's resident memory (the server runs in it)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe(label: str, latencies: Sequence[float]) -> str:
    """``label: n=…, p50 …, p99 …, max … ms``, for printing (never for asserting)."""
    if not latencies:
        return f"{label}: no round trips"
    ms = [value * 1000 for value in latencies]
    return (
        f"{label}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, "
        f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms"
    )


# -- the well-behaved visitor -------------------------------------------------------------


@dataclass
class Bystander:
    """A visitor from ``BYSTANDER`` with a conversation, sending messages one at a time."""

    visitor: Visitor
    http: aiohttp.ClientSession
    conversation_id: str = ""
    latencies: list[float] = field(default_factory=list)
    sent: int = 0

    @classmethod
    async def open(cls, url: str, *, address: str = BYSTANDER) -> Bystander:
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        bystander = cls(visitor=Visitor(url=url, sio=sio), http=http)
        try:
            started = time.perf_counter()
            await bystander.visitor.connect({"tenant": "default"})
            bystander.conversation_id = await bystander.visitor.start()
            bystander.latencies.append(time.perf_counter() - started)
        except BaseException:
            await bystander.close()
            raise
        return bystander

    async def round_trip(self) -> dict[str, object]:
        """One ``message.send`` and its ack; the ack (whatever it says) is returned."""
        self.sent += 1
        payload = {
            "conversation_id": self.conversation_id,
            "client_msg_id": f"bystander-{self.sent}",
            "text": f"still here {self.sent}",
        }
        started = time.perf_counter()
        ack = await self.visitor.call("message.send", payload)
        self.latencies.append(time.perf_counter() - started)
        return ack

    async def chat_while(self, attack: asyncio.Future[Any], *, pause: float = 0.02) -> int:
        """Round trips until ``attack`` is done; how many were acknowledged ``ok``."""
        ok = 0
        while not attack.done():
            ack = await self.round_trip()
            ok += ack.get("ok") is True
            await asyncio.sleep(pause)
        return ok

    async def close(self) -> None:
        await self.visitor.disconnect()
        await self.http.close()


# -- raw attackers ----------------------------------------------------------------------


def _netloc(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


@dataclass
class RawWebSocket:
    """An Engine.IO WebSocket spoken byte by byte: frames of any size, compressed or not."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    handshake: bytes
    """The server's response head."""

    @classmethod
    async def open(cls, url: str, *, deflate: bool = False) -> RawWebSocket:
        host, port = _netloc(url)
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        extension = "Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else ""
        writer.write(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n"
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        return cls(reader=reader, writer=writer, handshake=head)

    @property
    def upgraded(self) -> bool:
        return self.handshake.startswith(b"HTTP/1.1 101")

    @property
    def deflate(self) -> bool:
        return b"permessage-deflate" in self.handshake.lower()

    def send_frame(
        self, payload: bytes, *, compressed: bool = False, length: int | None = None
    ) -> None:
        """One masked text frame; ``length`` claims another size than ``payload``'s."""
        write_frame(self.writer, payload, compressed=compressed, length=length)

    async def close_code(self, timeout: float = 5.0) -> int | None:
        """Reads until the server's close frame (its status code) or the end of the
        connection (None); raises TimeoutError if neither comes."""
        async with asyncio.timeout(timeout):
            while True:
                try:
                    head = await self.reader.readexactly(2)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return None
                size = head[1] & 0x7F
                if size == 126:
                    size = int.from_bytes(await self.reader.readexactly(2), "big")
                elif size == 127:
                    size = int.from_bytes(await self.reader.readexactly(8), "big")
                body = await self.reader.readexactly(size)
                if head[0] & 0x0F == 0x8:
                    return int.from_bytes(body[:2], "big") if len(body) >= 2 else None

    def abort(self) -> None:
        self.writer.transport.abort()


def write_frame(
    writer: asyncio.StreamWriter, payload: bytes, *, compressed: bool, length: int | None
) -> None:
    size = len(payload) if length is None else length
    header = bytearray([0xC1 if compressed else 0x81])  # FIN, RSV1 when compressed, text
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
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        len(payload), "big"
    )
    writer.write(bytes(header) + masked)


@dataclass
class SlowClient:
    """A connection that starts a request and sends its headers a byte at a time, never
    finishing them (slowloris)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, url: str) -> SlowClient:
        host, port = _netloc(url)
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
        await writer.drain()
        return cls(reader=reader, writer=writer)

    def drip(self) -> None:
        """One more byte of the header, unless the server has hung up."""
        if not self.writer.transport.is_closing():
            self.writer.write(b"a")

    async def hung_up(self, timeout: float) -> bool:
        """Whether the server closes the connection within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(4096):
                    pass
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.transport.abort()


# -- bombs ------------------------------------------------------------------------------


def _zeros_deflated(mib: int) -> tuple[bytes, int]:
    """Raw deflate of ``mib`` MiB of zeros, built from one compressed MiB repeated: each
    copy is flushed to a byte boundary with no reference behind it, so it decodes alone.
    Returns the stream (without its final block) and the CRC-32 of what it inflates to."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    zeros = bytes(MIB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    return one * mib, crc


def gzip_bomb(mib: int) -> bytes:
    """A valid gzip body of about ``mib`` KiB that inflates to ``mib`` MiB of zeros."""
    stream, crc = _zeros_deflated(mib)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final_block = b"\x03\x00"
    return header + stream + final_block + struct.pack("<II", crc, (mib * MIB) & 0xFFFFFFFF)


def deflate_frame_bomb(mib: int) -> bytes:
    """A permessage-deflate message body (RFC 7692: raw deflate, its final sync flush
    stripped) that inflates to ``mib`` MiB of zeros."""
    stream, _ = _zeros_deflated(mib)
    return stream[:-4] if stream.endswith(b"\x00\x00\xff\xff") else stream
