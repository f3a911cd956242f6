"""A scripted XMPP agent for end-to-end tests: a real slixmpp client on a real Prosody.

It behaves like an agent's desktop client as far as the engine can tell: logs in over
STARTTLS, approves the queue's subscription request, sends presence, messages and chat
states, and records every message it receives.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

CHATSTATES = "http://jabber.org/protocol/chatstates"
NICK = "http://jabber.org/protocol/nick"
MARKERS = "urn:xmpp:chat-markers:0"
RECEIPTS = "urn:xmpp:receipts"
CORRECTION = "urn:xmpp:message-correct:0"
OOB = "jabber:x:oob"


@dataclass(frozen=True, slots=True)
class Received:
    from_jid: str
    body: str
    nick: str | None
    chat_state: str | None
    id: str
    markable: bool = False
    """XEP-0333: the sender wants to know when it is displayed."""
    receipt_requested: bool = False
    error: str | None = None
    """The stanza error condition, for a message of type error."""
    oob: str | None = None
    """XEP-0066: the file's URL, for a message that carries one."""


@dataclass(frozen=True, slots=True)
class SeenPresence:
    """A presence stanza received from somebody else: bare JID, type (None: available)
    and XEP-0172 nick."""

    from_jid: str
    type: str | None
    nick: str | None


class ScriptedAgent:
    def __init__(self, jid: str, password: str, *, host: str, port: int) -> None:
        self.jid = jid
        self.password = password
        self.host = host
        self.port = port
        self.received: list[Received] = []
        self.displayed: list[tuple[str, str]] = []
        """XEP-0333 ``displayed`` markers received: (from bare JID, marked id)."""
        self._marker_arrived = asyncio.Event()
        self.presences: list[SeenPresence] = []
        """Presence from others, in arrival order (the server's echo of its own left out)."""
        self._presence_arrived = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._client: Any = None

    async def connect(self, *, show: str | None = None, timeout: float = 20) -> None:
        client = slixmpp.ClientXMPP(self.jid, self.password)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        client.ssl_context = ctx
        client.register_plugin("xep_0030")
        client.register_plugin("xep_0085")
        client.register_plugin("xep_0172")
        client.register_plugin("xep_0050")
        client.register_plugin("xep_0363")
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def on_start(_: object) -> None:
            await client.get_roster()
            client.send_presence(pshow=show) if show else client.send_presence()
            if not started.done():
                started.set_result(None)

        def on_failure(_: object) -> None:
            if not started.done():
                started.set_exception(RuntimeError(f"{self.jid}: authentication failed"))

        client.add_event_handler("session_start", on_start)
        client.add_event_handler("failed_auth", on_failure)
        client.add_event_handler("message", self._on_message)
        # Errors without a body (what the engine refuses with) come only as this.
        client.add_event_handler("message_error", self._on_message)
        # slixmpp's "message" event needs a <body>; bare chat states come only as this.
        client.add_event_handler("chatstate", self._on_chat_state)
        client.register_handler(
            Callback(
                "displayed markers",
                MatchXPath(f"{{jabber:client}}message/{{{MARKERS}}}displayed"),
                self._on_displayed,
            )
        )
        client.register_handler(
            Callback(
                "any presence",
                MatchXPath("{jabber:client}presence"),
                self._on_presence,
            )
        )
        self._client = client
        client.connect(host=self.host, port=self.port)
        await asyncio.wait_for(started, timeout)

    async def _on_message(self, msg: Any) -> None:
        state = None
        for child in msg.xml:
            if child.tag.startswith("{" + CHATSTATES + "}"):
                state = child.tag.split("}", 1)[1]
        nick_el = msg.xml.find(f"{{{NICK}}}nick")
        oob_el = msg.xml.find(f"{{{OOB}}}x/{{{OOB}}}url")
        received = Received(
            from_jid=str(msg["from"].bare),
            body=str(msg["body"]),
            nick=nick_el.text if nick_el is not None else None,
            chat_state=state,
            id=str(msg["id"]),
            markable=msg.xml.find(f"{{{MARKERS}}}markable") is not None,
            receipt_requested=msg.xml.find(f"{{{RECEIPTS}}}request") is not None,
            error=_error_condition(msg),
            oob=oob_el.text if oob_el is not None else None,
        )
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()

    def _on_displayed(self, msg: Any) -> None:
        marker = msg.xml.find(f"{{{MARKERS}}}displayed")
        self.displayed.append((str(msg["from"].bare), marker.get("id", "")))
        self._marker_arrived.set()

    def _on_presence(self, presence: Any) -> None:
        sender = str(presence["from"].bare)
        if sender == self.jid:
            return
        self.presences.append(
            SeenPresence(
                from_jid=sender,
                type=presence.xml.get("type"),
                nick=presence.xml.findtext(f"{{{NICK}}}nick"),
            )
        )
        self._presence_arrived.set()

    async def wait_presence(
        self, predicate: Callable[[SeenPresence], bool], *, after: int = 0, timeout: float = 15
    ) -> SeenPresence:
        """The first presence (from index ``after``) matching ``predicate``."""
        async with asyncio.timeout(timeout):
            while True:
                found = next((p for p in self.presences[after:] if predicate(p)), None)
                if found is not None:
                    return found
                self._presence_arrived.clear()
                await self._presence_arrived.wait()

    async def wait_displayed(self, sender: str, marked_id: str, *, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while (sender, marked_id) not in self.displayed:
                self._marker_arrived.clear()
                await self._marker_arrived.wait()

    async def _on_chat_state(self, msg: Any) -> None:
        if not msg["body"]:
            await self._on_message(msg)

    async def wait_for(
        self, predicate: Callable[[Received], bool], *, timeout: float = 15, after: int = 0
    ) -> Received:
        """The first message (from index ``after``) matching ``predicate``."""

        def find() -> Received | None:
            return next((m for m in self.received[after:] if predicate(m)), None)

        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: find() is not None), timeout)
        found = find()
        assert found is not None
        return found

    async def wait_body(
        self, text: str, *, sender: str | None = None, timeout: float = 15
    ) -> Received:
        return await self.wait_for(
            lambda m: text in m.body and (sender is None or m.from_jid == sender), timeout=timeout
        )

    def bodies_from(self, jid: str) -> list[str]:
        return [m.body for m in self.received if m.from_jid == jid and m.body]

    def subscribe(self, queue_jid: str) -> None:
        self._client.send_presence(pto=queue_jid, ptype="subscribe")

    def presence(self, show: str | None = None) -> None:
        if show:
            self._client.send_presence(pshow=show)
        else:
            self._client.send_presence()

    def send(self, to: str, body: str, *, msg_id: str | None = None) -> None:
        msg = self._client.make_message(mto=to, mbody=body, mtype="chat")
        if msg_id is not None:
            msg["id"] = msg_id
        msg.send()

    def mark_displayed(self, to: str, marked_id: str) -> None:
        """XEP-0333: this client showed the message ``marked_id``."""
        msg = self._client.make_message(mto=to, mtype="chat")
        msg.xml.append(ET.Element(f"{{{MARKERS}}}displayed", {"id": marked_id}))
        msg.send()

    def correct(self, to: str, replaces: str, body: str, *, msg_id: str) -> None:
        """XEP-0308: ``body`` replaces the message this client sent as ``replaces``."""
        msg = self._client.make_message(mto=to, mbody=body, mtype="chat")
        msg["id"] = msg_id
        msg.xml.append(ET.Element(f"{{{CORRECTION}}}replace", {"id": replaces}))
        msg.send()

    def send_file(self, to: str, url: str, *, msg_id: str) -> None:
        """XEP-0066 as Conversations sends an upload: the body is the URL."""
        msg = self._client.make_message(mto=to, mbody=url, mtype="chat")
        msg["id"] = msg_id
        oob = ET.SubElement(msg.xml, f"{{{OOB}}}x")
        ET.SubElement(oob, f"{{{OOB}}}url").text = url
        msg.send()

    async def upload(self, name: str, data: bytes, content_type: str) -> str:
        """XEP-0363 through this agent's server (Prosody's ``http_file_share``): the
        URL the file can be fetched from, as a client gets it before sending it."""
        url: str = await self._client.plugin["xep_0363"].upload_file(
            name,
            size=len(data),
            content_type=content_type,
            input_file=io.BytesIO(data),
            timeout=20,
        )
        return url

    def chat_state(self, to: str, state: str) -> None:
        msg = self._client.make_message(mto=to, mtype="chat")
        msg["chat_state"] = state
        msg.send()

    async def disconnect(self) -> None:
        client = self._client
        if client is None:
            return
        self._client = None
        try:
            client.disconnect()
            await asyncio.wait_for(client.disconnected, 5)
        except (TimeoutError, asyncio.CancelledError):
            client.abort()

    # -- XEP-0050 ad-hoc commands, through slixmpp's client API ------------------------

    async def adhoc_commands(self, jid: str) -> list[tuple[str, str]]:
        """(node, name) of the commands ``jid`` lists."""
        iq = await self._client.plugin["xep_0050"].get_commands(jid)
        return [(str(node), str(name)) for _jid, node, name in iq["disco_items"]["items"]]

    async def adhoc(
        self,
        jid: str,
        node: str,
        *,
        action: str = "execute",
        sessionid: str | None = None,
        values: dict[str, str] | None = None,
    ) -> Any:
        """The answer (an Iq; ``IqError`` for an error answer) to one ad-hoc step; with
        ``values``, a submitted data form goes with it."""
        adhoc = self._client.plugin["xep_0050"]
        payload = None
        if values is not None:
            form = self._client.plugin["xep_0004"].make_form(ftype="submit")
            for var, value in values.items():
                form.add_field(var=var, value=value)
            payload = form
        return await adhoc.send_command(
            jid, node, action=action, sessionid=sessionid, payload=payload
        )


def _error_condition(msg: Any) -> str | None:
    if msg["type"] != "error":
        return None
    for error in msg.xml:
        if error.tag.endswith("}error"):
            for child in error:
                if child.tag.startswith("{urn:ietf:params:xml:ns:xmpp-stanzas}"):
                    return str(child.tag.split("}", 1)[1])
    return None
