"""Echo agents: slixmpp clients on the benchmark's Prosody, in a process of their own.

Configuration on the first stdin line (JSON): ``host``, ``port`` (Prosody's client
port) and ``agents`` (``[{"jid", "password"}]``). Each agent logs in like
``tests/e2e/agent.py`` (STARTTLS with the self-signed certificate) and sends presence.

Echo rule: a message whose body starts with ``rt `` (what the load sends) is answered
with the same body, to the bare JID it came from (the conversation JID
``c-<id>@<component>``). Everything else (offers, notices) is ignored, so only
visitor-message round trips are ever echoed.

Commands: ``subscribe`` (each agent asks for the presence subscription of ``to``, the
queue JID, and sends presence again; the engine then sees it ready), ``stats`` (echoes so
far) and ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import xml.etree.ElementTree as ET
from typing import Any

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bench._common import Commands, read_config, report, run

ECHO_PREFIX = "rt "
MAM = "urn:xmpp:mam:2"
LOGIN_TIMEOUT = 30.0


class EchoAgent:
    def __init__(self, jid: str, password: str) -> None:
        self.jid = jid
        self.echoed = 0
        client: Any = slixmpp.ClientXMPP(jid, password)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        client.ssl_context = ctx
        client.register_plugin("xep_0030")
        # A plain handler: the echo needs no plugin work on the hot path.
        client.register_handler(
            Callback("echo", MatchXPath(f"{{{client.default_ns}}}message"), self._on_message)
        )
        self.client = client

    async def connect(self, host: str, port: int, archive: bool) -> None:
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def on_start(_: object) -> None:
            await self.client.get_roster()
            if not archive:
                await self.archive_nothing()
            self.client.send_presence()
            if not started.done():
                started.set_result(None)

        def on_failure(_: object) -> None:
            if not started.done():
                started.set_exception(RuntimeError(f"{self.jid}: authentication failed"))

        self.client.add_event_handler("session_start", on_start)
        self.client.add_event_handler("failed_auth", on_failure)
        self.client.connect(host=host, port=port)
        await asyncio.wait_for(started, LOGIN_TIMEOUT)

    async def archive_nothing(self) -> None:
        """Ask the server to archive none of this account's messages (XEP-0313 prefs)."""
        iq = self.client.Iq()
        iq["type"] = "set"
        iq.append(ET.Element(f"{{{MAM}}}prefs", {"default": "never"}))
        await iq.send(timeout=10)

    def _on_message(self, msg: Any) -> None:
        body = msg["body"]
        if body.startswith(ECHO_PREFIX):
            reply = self.client.make_message(mto=msg["from"].bare, mbody=body, mtype="chat")
            reply.send()
            self.echoed += 1

    def subscribe(self, queue_jid: str) -> None:
        self.client.send_presence(pto=queue_jid, ptype="subscribe")
        self.client.send_presence()

    async def disconnect(self) -> None:
        try:
            self.client.disconnect()
            await asyncio.wait_for(self.client.disconnected, 5)
        except (TimeoutError, asyncio.CancelledError):
            self.client.abort()


async def main() -> None:
    config = read_config()
    commands = Commands()
    agents = [EchoAgent(a["jid"], a["password"]) for a in config["agents"]]
    archive = bool(config.get("archive", True))
    await asyncio.gather(*(a.connect(config["host"], int(config["port"]), archive) for a in agents))
    report("ready", agents=len(agents))
    try:
        while True:
            command = await commands.next()
            match command.get("cmd"):
                case "subscribe":
                    for agent in agents:
                        agent.subscribe(str(command["to"]))
                    report("subscribed")
                case "stats":
                    report("stats", echoed=sum(a.echoed for a in agents))
                case "stop":
                    break
    finally:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(a.disconnect() for a in agents))
    report("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    run(main())
