"""A throwaway relay that stores nothing: the ceiling the engine's stack allows.

Built from the engine's libraries and wiring: a python-socketio ``AsyncServer`` on
aiohttp (an ``AppRunner`` site on loopback) and a slixmpp ``ComponentXMPP`` on the same
Prosody component port and domain (it runs after the engine has stopped: one component
connection per domain), on the same event loop settings (``bench._common.run``).

It speaks the subset of the visitor protocol the load uses, with the engine's shapes:
``session`` on connect, ``conversation.start`` (an offer from ``c-<id>@<component>`` to
the next agent, round robin; ``participant.joined`` and ``state.changed`` events) and
``message.send`` (the visitor's own message as an event, then the stanza to the agent,
then the ack); an agent's message to ``c-<id>@`` comes back as a ``message`` event.
Events carry ``seq`` and go to the conversation's and the visitor's rooms in one emit,
as the engine sends them, in the engine's packet JSON (``presentation.packet_json``:
orjson where installed). No database, no idempotency, no delivery cursors.

Configuration on the first stdin line (JSON): ``xmpp`` (``component_jid``, ``host``,
``port``, ``secret``) and ``agents`` (bare JIDs). Commands: ``sample``, ``window``,
``stop`` (as ``bench._engine_server``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web
from slixmpp import ComponentXMPP
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

from bench._common import (
    Commands,
    Json,
    main_thread_cpu,
    read_config,
    report,
    rss_kb,
    run,
    serve_commands,
)
from chat_engine.gc_tuning import tune_gc
from presentation.packet_json import PacketJson

NAMESPACE = "/visitor"

# slixmpp's own roster would answer agents' presence subscriptions and probes (and
# cancel subscriptions the engine's next run relies on); the engine removes the same
# handlers (xmpp_bridge.component).
_ROSTER_HANDLERS = (
    ("presence_available", "_handle_available"),
    ("presence_dnd", "_handle_available"),
    ("presence_xa", "_handle_available"),
    ("presence_chat", "_handle_available"),
    ("presence_away", "_handle_available"),
    ("presence_unavailable", "_handle_unavailable"),
    ("presence_subscribe", "_handle_subscribe"),
    ("presence_subscribed", "_handle_subscribed"),
    ("presence_unsubscribe", "_handle_unsubscribe"),
    ("presence_unsubscribed", "_handle_unsubscribed"),
    ("roster_subscription_request", "_handle_new_subscription"),
    ("presence_probe", "_handle_probe"),
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Conversation:
    id: str
    visitor_id: str
    agent: str
    agent_name: str
    seq: int = 0


class Relay:
    def __init__(self, config: Json) -> None:
        xmpp = config["xmpp"]
        self.domain = str(xmpp["component_jid"])
        agents = [(str(jid), f"Agent {n}") for n, jid in enumerate(config["agents"], start=1)]
        self._next_agent = itertools.cycle(agents)
        self.visitors: dict[str, str] = {}
        """sid -> visitor id"""
        self.conversations: dict[str, Conversation] = {}
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            cors_allowed_origins="*",
            cors_credentials=False,
            max_http_buffer_size=1_000_000,
            # The engine's JSON for its packets (orjson where installed): a library the
            # engine uses, so the ceiling has it too.
            json=PacketJson,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self.sio.on("conversation.start", self.on_start, namespace=NAMESPACE)
        self.sio.on("message.send", self.on_message, namespace=NAMESPACE)
        self.xmpp: Any = ComponentXMPP(  # type: ignore[no-untyped-call]
            self.domain, str(xmpp["secret"]), str(xmpp["host"]), int(xmpp["port"])
        )
        self.xmpp.register_plugin("xep_0030")
        self.xmpp.register_plugin("xep_0085")
        self.xmpp.register_plugin("xep_0172")
        self.xmpp.auto_authorize = None
        self.xmpp.auto_subscribe = False
        for name, method in _ROSTER_HANDLERS:
            self.xmpp.del_event_handler(name, getattr(self.xmpp, method))
        self.xmpp.register_handler(
            CoroutineCallback(
                "relay message", MatchXPath(f"{{{self.xmpp.default_ns}}}message"), self.on_stanza
            )
        )

    # -- visitors -----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: object, auth: object = None) -> None:
        if not isinstance(auth, dict) or not isinstance(auth.get("tenant"), str):
            raise socketio.exceptions.ConnectionRefusedError(
                {"code": "invalid_input", "message": "auth must name a tenant"}
            )
        visitor_id = uuid.uuid4().hex
        self.visitors[sid] = visitor_id
        await self.sio.enter_room(sid, f"visitor:{visitor_id}", namespace=NAMESPACE)
        session = {
            "visitor_id": visitor_id,
            "visitor_token": uuid.uuid4().hex,
            "conversations": [],
            "config": {"title": "Chat with us", "tenant_name": "Relay", "max_text_length": 4000},
        }
        await self.sio.emit("session", session, to=sid, namespace=NAMESPACE)

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        self.visitors.pop(sid, None)

    async def on_start(self, sid: str, payload: object = None) -> Json:
        visitor_id = self.visitors.get(sid)
        if visitor_id is None or not isinstance(payload, dict):
            return _error("invalid_input", "bad conversation.start")
        agent, name = next(self._next_agent)
        conv = Conversation(
            id=uuid.uuid4().hex, visitor_id=visitor_id, agent=agent, agent_name=name
        )
        self.conversations[conv.id] = conv
        await self.sio.enter_room(sid, f"conversation:{conv.id}", namespace=NAMESPACE)
        offer = (
            "New chat from Visitor (queue support, waited 0 s)\n(no messages yet)\n"
            "Answer here. !help lists commands."
        )
        self._to_agent(conv, offer, f"{conv.id}-1")
        participant = {"kind": "agent", "name": name}
        await self._event(conv, "participant.joined", {"participant": participant})
        await self._event(conv, "state.changed", {"state": "active"})
        return {
            "ok": True,
            "conversation": {"id": conv.id, "state": "active", "last_seq": conv.seq},
        }

    async def on_message(self, sid: str, payload: object = None) -> Json:
        visitor_id = self.visitors.get(sid)
        if visitor_id is None or not isinstance(payload, dict):
            return _error("invalid_input", "bad message.send")
        conv = self.conversations.get(str(payload.get("conversation_id")))
        text, client_msg_id = payload.get("text"), payload.get("client_msg_id")
        if conv is None or conv.visitor_id != visitor_id:
            return _error("not_found", "no such conversation")
        if not isinstance(text, str) or not isinstance(client_msg_id, str):
            return _error("invalid_input", "text and client_msg_id are required")
        message_id = uuid.uuid4().hex
        created_at = _now()
        sender = {"kind": "visitor", "name": "Visitor"}
        fields = {"id": message_id, "client_msg_id": client_msg_id, "from": sender}
        await self._event(conv, "message", {**fields, "text": text, "attachments": []}, created_at)
        self._to_agent(conv, text, message_id)
        seq = conv.seq
        return {"ok": True, "message": {"id": message_id, "seq": seq, "created_at": created_at}}

    async def _event(
        self, conv: Conversation, kind: str, fields: Json, created_at: str | None = None
    ) -> None:
        conv.seq += 1
        wire = {
            "conversation_id": conv.id,
            "seq": conv.seq,
            "type": kind,
            "created_at": created_at or _now(),
            **fields,
        }
        rooms = [f"conversation:{conv.id}", f"visitor:{conv.visitor_id}"]
        await self.sio.emit("event", wire, to=rooms, namespace=NAMESPACE)

    # -- agents -------------------------------------------------------------------------

    def _to_agent(self, conv: Conversation, body: str, stanza_id: str) -> None:
        msg = self.xmpp.make_message(
            mto=conv.agent,
            mbody=body,
            mtype="chat",
            mfrom=f"c-{conv.id}@{self.domain}",
            mnick="Visitor",
        )
        msg["id"] = stanza_id
        msg["chat_state"] = "active"
        msg.send()

    async def on_stanza(self, msg: Any) -> None:
        local = str(msg["to"].user)
        body = str(msg["body"])
        conv = self.conversations.get(local.removeprefix("c-"))
        if conv is None or not body or str(msg["from"].bare) != conv.agent:
            return
        sender = {"kind": "agent", "name": conv.agent_name}
        fields = {"id": uuid.uuid4().hex, "from": sender, "text": body, "attachments": []}
        await self._event(conv, "message", fields)


def _error(code: str, message: str) -> Json:
    return {"ok": False, "error": {"code": code, "message": message}}


async def main() -> None:
    config = read_config()
    commands = Commands()
    relay = Relay(config)
    app = web.Application()
    relay.sio.attach(app)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=512)
    await site.start()
    port = runner.addresses[0][1]
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_start(_: object) -> None:
        if not started.done():
            started.set_result(None)

    relay.xmpp.add_event_handler("session_start", on_start)
    relay.xmpp.connect()
    try:
        await asyncio.wait_for(started, 20)
        if os.environ.get("BENCH_PYTHON_GC") != "1":
            tune_gc()  # the same runtime as the engine's: its defaults

        def sample() -> Json:
            return {
                "wall": time.time(),
                "cpu": time.process_time(),
                "loop_cpu": main_thread_cpu(),
                "rss_kb": rss_kb(),
                "statements": 0,
                "commits": 0,
            }

        report("ready", port=port, pid=os.getpid(), database="none")
        await serve_commands(commands, sample, sample)
    finally:
        relay.xmpp.disconnect()
        await runner.cleanup()
    report("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    run(main(), use_uvloop=os.environ.get("BENCH_UVLOOP") == "1")
