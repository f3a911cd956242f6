"""A minimal XEP-0114 server side, enough to drive the bridge's real slixmpp connection.

It speaks the component handshake and records the stanzas it receives; tests use it to
cut the link, refuse the secret, stay silent or refuse a stanza by closing the stream (as
Prosody does with one over its size limit), which a real server does not do on cue.
Routing, presence and everything else a real server does are not here: those belong in
the end-to-end tests against Prosody.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from xml.etree import ElementTree as ET

STREAMS_NS = "http://etherx.jabber.org/streams"
COMPONENT_NS = "jabber:component:accept"


def _stream_header(stream_id: str) -> bytes:
    return (
        f"<?xml version='1.0'?><stream:stream xmlns:stream='{STREAMS_NS}' "
        f"xmlns='{COMPONENT_NS}' id='{stream_id}' from='chat.localhost'>"
    ).encode()


def _elements(
    parser: ET.XMLPullParser[ET.Element],
) -> list[tuple[str, ET.Element]]:
    found: list[tuple[str, ET.Element]] = []
    for item in parser.read_events():
        # Only start/end events were asked for; the others typeshed allows have no Element.
        if len(item) == 2 and isinstance(item[1], ET.Element):
            found.append((item[0], item[1]))
    return found


def _is_own_iq(element: ET.Element) -> bool:
    """An iq to the component's domain or an address in it (an ejabberd slot's)."""
    to = element.get("to") or ""
    return element.tag == f"{{{COMPONENT_NS}}}iq" and to.rpartition("@")[2] == "chat.localhost"


class ComponentServer:
    def __init__(self, *, secret: str, answer_handshake: bool = True) -> None:
        self.secret = secret
        self.answer_handshake = answer_handshake
        self.connections = 0
        self.handshakes = 0
        self.stanzas: list[ET.Element] = []
        self.closed_streams = 0
        self.silent = False
        """A dead path that looks alive: read everything, record and answer nothing."""
        self.ignored_pings = 0
        """The bridge's pings (iq to itself) read while ``silent``."""
        self.refuse: Callable[[ET.Element], bool] | None = None
        """Stanzas the server refuses: it closes the stream with ``policy-violation``."""
        self.max_stanza_size: int | None = None
        """Serialised stanzas over this many bytes are refused the same way."""
        self.refused: list[ET.Element] = []
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def link_open(self) -> bool:
        """A component connection is open (the bridge's, or one it left behind)."""
        return self._writer is not None

    def drop(self) -> None:
        """Cut the TCP connection without closing the stream: a crash, not a goodbye."""
        if self._writer is not None:
            self._writer.transport.abort()
            self._writer = None

    def inject(self, xml: str) -> None:
        assert self._writer is not None, "no component connected"
        self._writer.write(xml.encode())

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[ET.Element]:
        """Wait until at least ``count`` stanzas have arrived in total."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.stanzas) >= count)
        return self.stanzas

    async def wait_until(self, predicate: object, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)  # type: ignore[arg-type]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        await self._notify()
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        depth = 0
        stream_id = f"s{self.connections}"
        try:
            while data := await reader.read(65536):
                parser.feed(data)
                for event, element in _elements(parser):
                    if self.silent:
                        if event == "end" and _is_own_iq(element):
                            self.ignored_pings += 1
                            await self._notify()
                        continue
                    if event == "start":
                        depth += 1
                        if depth == 1:
                            writer.write(_stream_header(stream_id))
                        continue
                    depth -= 1
                    if depth == 0:
                        self.closed_streams += 1
                        writer.write(b"</stream:stream>")
                        await writer.drain()
                        writer.close()
                        await self._notify()
                        return
                    if depth == 1 and not await self._stanza(element, stream_id, writer):
                        return
        except (ConnectionError, ET.ParseError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
            if self._writer is writer:
                self._writer = None
            await self._notify()

    def _refuses(self, element: ET.Element) -> bool:
        if self.refuse is not None and self.refuse(element):
            return True
        limit = self.max_stanza_size
        return limit is not None and len(ET.tostring(element)) > limit

    async def _stanza(
        self, element: ET.Element, stream_id: str, writer: asyncio.StreamWriter
    ) -> bool:
        """Handle one stanza; False once the stream is closed."""
        if element.tag == f"{{{COMPONENT_NS}}}handshake":
            if not self.answer_handshake:
                return True
            expected = hashlib.sha1(f"{stream_id}{self.secret}".encode()).hexdigest()
            if element.text != expected:
                writer.write(
                    b"<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                    b"</stream:error></stream:stream>"
                )
                await writer.drain()
                writer.close()
                return False
            self.handshakes += 1
            writer.write(b"<handshake/>")
        elif _is_own_iq(element):
            # Routed back to the component, as a server does with stanzas to its domain:
            # the bridge pings itself to confirm delivery.
            writer.write(ET.tostring(element))
        elif self._refuses(element):
            # What Prosody does with a stanza over its size limit: everything after it in
            # the stream is lost with the connection.
            self.refused.append(element)
            writer.write(
                b"<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                b"</stream:error></stream:stream>"
            )
            await writer.drain()
            writer.close()
            await self._notify()
            return False
        else:
            self.stanzas.append(element)
        await self._notify()
        return True
