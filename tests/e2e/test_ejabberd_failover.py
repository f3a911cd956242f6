"""Losing an engine process on ejabberd: its conversations go on through the others.

Two engine processes share the component domain (``domain_balancing:
bare_destination``, two slots); one of them is a child process, killed with SIGKILL. Its
slot is then free, and ejabberd drops whatever hashes there without a word, until the
survivor's stand-in connection (``xmpp.standby_links``) takes it over. The agent keeps
writing meanwhile: no message the engine acknowledged (XEP-0184) is lost, and after that
its messages to the dead process's conversations are stored, every one once. When
the process comes back, the stand-in gives the slot back to it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from chat_engine.ejabberd import EjabberdServer
from chat_engine.engine import Engine
from chat_engine.settings import Settings, load_settings
from tests.conftest import BACKENDS, fresh_database_url
from tests.e2e.agent import RECEIPTS, ScriptedAgent
from tests.e2e.conftest import AgentAccount
from tests.e2e.test_chat_flow import (
    WAIT,
    add_agent,
    conversation_jid,
    new_visitor,
    queue_jid,
    start_chat,
)
from tests.e2e.test_ejabberd import _offer_from, _Recorder, _running_ejabberd, _stored

pytestmark = pytest.mark.e2e

MAX_CONVERSATIONS = 16
"""Conversations until two hash to the victim's slot (each does with odds 1 in 2)."""
LOAD_PAUSE = 0.05
LOAD_LIMIT = 2000
"""At most this many load messages (the load stops well before, once checked)."""
TAKEOVER_BOUND = 60.0
"""Seconds for the survivor's stand-in to hold the dead process's slot (generous: the
machine is shared; it takes ``standby_interval`` plus a probe round trip)."""

_CHILD = """
import asyncio, json, os, sys
from chat_engine.engine import Engine
from chat_engine.settings import load_settings

async def main():
    settings = load_settings(None, {}, json.loads(os.environ["FAILOVER_OVERRIDES"]))
    engine = Engine(settings)
    await engine.start()
    await engine.bridge.wait_connected(60)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def ejabberd_two_slots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EjabberdServer]:
    yield from _running_ejabberd(tmp_path_factory, 2)


def _overrides(server: EjabberdServer, url: str) -> dict[str, object]:
    return {
        "http.port": 0,
        "database.url": url,
        "xmpp.component_jid": server.component_jid,
        "xmpp.host": server.host,
        "xmpp.port": server.component_port,
        "xmpp.secret": server.component_secret,
        "xmpp.reconnect_min_delay": 0.1,
        "xmpp.reconnect_max_delay": 1.0,
        "xmpp.standby_links": True,
        "xmpp.standby_interval": 0.5,
    }


@pytest.fixture(params=[p for p in BACKENDS if p.id == "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database_url(request.param, tmp_path) as url:
        yield url


ROOT = Path(__file__).resolve().parents[2]


async def _start_child(overrides: dict[str, object]) -> asyncio.subprocess.Process:
    root = ROOT
    env = {
        **os.environ,
        "FAILOVER_OVERRIDES": json.dumps(overrides),  # the secret stays off the command line
        "PYTHONPATH": str(root),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, env=env, stdout=asyncio.subprocess.PIPE, cwd=root
    )
    assert child.stdout is not None
    async with asyncio.timeout(90):
        line = await child.stdout.readline()
    assert line.strip() == b"ready", line
    return child


async def test_an_agent_reaches_a_killed_engines_conversations_through_the_survivor(
    ejabberd_two_slots: EjabberdServer,
    database_url: str,
    cleanup: list[Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = ejabberd_two_slots
    overrides = _overrides(server, database_url)
    settings: Settings = load_settings(None, {}, overrides)
    survivor = Engine(settings)
    # The victim connects first, so both slots are taken before the survivor's stand-in
    # looks for a free one.
    victim = await _start_child(overrides)
    try:
        await survivor.start()
        await survivor.bridge.wait_connected(WAIT)
        password = secrets.token_urlsafe(12)
        jid = server.register(f"kim-{secrets.token_hex(3)}", password)
        account = AgentAccount(jid=jid, password=password, host=server.host, port=server.c2s_port)
        await add_agent(survivor, account, "Kim", max_chats=MAX_CONVERSATIONS)
        agent = ScriptedAgent(account.jid, account.password, host=account.host, port=account.port)
        cleanup.append(agent)
        await agent.connect()
        agent.subscribe(queue_jid(survivor))
        await _ready(survivor, account.jid)
        handled: dict[str, set[str]] = {}
        messaging = survivor.services.messaging
        monkeypatch.setattr(
            messaging, "send_agent_message", _Recorder(messaging, "survivor", handled)
        )

        visitors: dict[str, Any] = {}
        victims: list[str] = []
        for n in range(MAX_CONVERSATIONS):
            visitor = await new_visitor(survivor, cleanup)
            conversation_id = await start_chat(visitor, f"Question {n}", name=f"V{n}")
            visitors[conversation_id] = visitor
            conv_jid = conversation_jid(survivor, conversation_id)
            await agent.wait_for(_offer_from(conv_jid))
            agent.send(conv_jid, f"Before {n}")
            await _stored(visitor, conversation_id, [f"Before {n}"])
            if conversation_id not in handled:
                victims.append(conversation_id)  # stored by the other process
            if len(victims) >= 2:
                break
        assert len(victims) >= 2, "no conversation hashed to the victim's slot"
        standby = survivor.bridge.standby
        assert standby is not None
        assert standby.held == 0  # no slot was free while both lived

        load = _Load(agent, [conversation_jid(survivor, c) for c in visitors])
        loader = asyncio.create_task(load.run())
        await asyncio.sleep(1.0)  # under load when it dies
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        deadline = time.monotonic() + TAKEOVER_BOUND
        while standby.held < 1:
            assert time.monotonic() < deadline, "the survivor never took over the free slot"
            await asyncio.sleep(0.1)
        taken_over = time.monotonic()
        await asyncio.sleep(2.0)  # the load goes on through the stand-in
        load.stop.set()
        await loader
        # Every message to the survivor's own conversations, and every one sent once the
        # stand-in held the dead process's slot, is stored once; of those sent to that
        # slot in between, ejabberd dropped some, but none the engine acknowledged.
        for conversation_id, visitor in visitors.items():
            conv_jid = conversation_jid(survivor, conversation_id)
            expected = [
                sent.text
                for sent in load.sent
                if sent.to == conv_jid and (conversation_id not in victims or sent.at > taken_over)
            ]
            await _stored(visitor, conversation_id, expected)
            stored = await _texts(visitor, conversation_id)
            for sent in load.sent:
                if sent.to == conv_jid:
                    assert stored.count(sent.text) <= 1, sent
                    if sent.id in load.receipts:
                        assert stored.count(sent.text) == 1, sent
        assert load.receipts, "no message was acknowledged"

        for n, conversation_id in enumerate(visitors):
            conv_jid = conversation_jid(survivor, conversation_id)
            for k in range(2):
                agent.send(conv_jid, f"After {n}.{k}")
        for n, (conversation_id, visitor) in enumerate(visitors.items()):
            await _stored(visitor, conversation_id, [f"After {n}.{k}" for k in range(2)])
        # The dead process's conversations now go through the survivor.
        assert all("survivor" in handled.get(c, set()) for c in victims), handled

        # The process comes back: it finds no slot, asks for one, and the survivor's
        # stand-in gives it back; then it holds its slot again.
        handled.clear()
        victim = await _start_child(overrides)
        deadline = time.monotonic() + TAKEOVER_BOUND
        while standby.held > 0:
            assert time.monotonic() < deadline, "the stand-in never gave the slot back"
            await asyncio.sleep(0.1)
        for n, conversation_id in enumerate(visitors):
            agent.send(conversation_jid(survivor, conversation_id), f"Back {n}")
        for n, (conversation_id, visitor) in enumerate(visitors.items()):
            await _stored(visitor, conversation_id, [f"Back {n}"])
        assert not any(c in handled for c in victims), handled  # the other process's again
    finally:
        if victim.returncode is None:
            victim.kill()
            await victim.wait()
        await survivor.stop()
    assert standby.held == 0
    # Every delivery ping came back: each connection pings from an address of its slot.
    assert not [r for r in caplog.records if "did not answer a ping" in r.getMessage()]


@dataclass(frozen=True, slots=True)
class _Sent:
    to: str
    text: str
    id: str
    at: float


class _Load:
    """The agent writes to every conversation in turn, asking for receipts (XEP-0184),
    until told to stop (at most ``LOAD_LIMIT`` messages)."""

    def __init__(self, agent: ScriptedAgent, addresses: list[str]) -> None:
        self._client = agent._client
        self._addresses = addresses
        self.sent: list[_Sent] = []
        self.receipts: set[str] = set()
        self.stop = asyncio.Event()
        self._client.register_handler(
            Callback(
                "receipts",
                MatchXPath(f"{{jabber:client}}message/{{{RECEIPTS}}}received"),
                self._on_receipt,
            )
        )

    def _on_receipt(self, msg: Any) -> None:
        self.receipts.add(msg.xml.find(f"{{{RECEIPTS}}}received").get("id", ""))

    async def run(self) -> None:
        for k in range(LOAD_LIMIT):
            if self.stop.is_set():
                return
            to = self._addresses[k % len(self._addresses)]
            sent = _Sent(to=to, text=f"Load {k}", id=f"load-{k}", at=time.monotonic())
            msg = self._client.make_message(mto=to, mbody=sent.text, mtype="chat")
            msg["id"] = sent.id
            msg.xml.append(ET.Element(f"{{{RECEIPTS}}}request"))
            msg.send()
            self.sent.append(sent)
            await asyncio.sleep(LOAD_PAUSE)


async def _texts(visitor: Any, conversation_id: str) -> list[str]:
    synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
    return [e["text"] for e in synced["events"] if e["type"] == "message"]


async def _ready(engine: Engine, jid: str) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        agent = await engine.services.agents.find_agent(jid)
        if agent is not None and agent.ready:
            return
        assert time.monotonic() < deadline, f"{jid} never became ready"
        await asyncio.sleep(0.05)
