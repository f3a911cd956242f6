"""The local cluster (``chat-engine cluster``, ``make cluster``): three engine processes
behind HAProxy on a private PostgreSQL, Redis and ejabberd.

What a team scaling out would notice if it broke: visitors reach every process through
HAProxy, a long-polling session stays on the process that holds it without any cookie,
a chat works end to end with an agent on ejabberd, and the command starts, prints what
to use and leaves nothing running when stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import socketio

from business.model import DEFAULT_QUEUE
from chat_engine.cluster import Cluster
from chat_engine.haproxy import COOKIE
from tests.e2e.agent import ScriptedAgent
from tests.e2e.cluster_support import running_cluster
from tests.e2e.test_chat_flow import WAIT
from tests.visitor_client import NAMESPACE, Visitor

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not all(shutil.which(b) for b in ("ejabberdctl", "haproxy", "redis-server")),
        reason="ejabberd, HAProxy and redis-server are needed (deploy/scripts/setup.sh --test)",
    ),
]

ENGINES = 3
HANDSHAKES = 3 * ENGINES
"""Round robin: this many new sessions visit every process (a few times each)."""
POLLS = 20
"""Requests each polling-only session makes through HAProxy."""
START_TIMEOUT = 300.0
ON_CLUSTER_LOOP = pytest.mark.asyncio(loop_scope="module")
"""The cluster fixture's event loop: one for the whole module."""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path_factory, ENGINES, START_TIMEOUT) as running:
        yield running


async def _handshake(http: aiohttp.ClientSession, url: str) -> tuple[str, str]:
    """An Engine.IO polling handshake: (session id, the process HAProxy chose, from the
    cookie it inserts)."""
    async with http.get(f"{url}/socket.io/", params={"EIO": "4", "transport": "polling"}) as r:
        assert r.status == 200
        body = await r.text()
        server = r.cookies[COOKIE].value
    assert body.startswith("0")
    return str(json.loads(body[1:])["sid"]), server


@ON_CLUSTER_LOOP
async def test_new_sessions_are_spread_over_every_process(cluster: Cluster) -> None:
    # No cookie jar: each handshake is a new client.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        servers = [(await _handshake(http, cluster.url))[1] for _ in range(HANDSHAKES)]
    assert set(servers) == {engine.name for engine in cluster.engines}, servers


@ON_CLUSTER_LOOP
async def test_a_polling_only_visitor_without_cookies_stays_on_its_process(
    cluster: Cluster,
) -> None:
    """python-socketio's client over long polling, with a jar that keeps no cookie: every
    request after the handshake is sent to its process by the session id alone; one
    sent elsewhere would be refused (``Invalid session``) and end the visit."""
    visitors = []
    try:
        for _ in range(ENGINES):
            http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
            sio = socketio.AsyncClient(reconnection=False, http_session=http)
            visitor = Visitor(url=cluster.url, sio=sio)
            visitors.append((visitor, http))
            await visitor.connect({"tenant": "default"}, transports=["polling"])
        for round_ in range(POLLS):
            for visitor, _ in visitors:
                # Any answer (an error is one too) came from the session's own process.
                answer = await visitor.sio.call(
                    "threads.list", {}, namespace=NAMESPACE, timeout=WAIT
                )
                assert isinstance(answer, dict), (round_, answer)
        assert all(visitor.sio.connected for visitor, _ in visitors)
        assert {visitor.sio.transport() for visitor, _ in visitors} == {"polling"}
    finally:
        # A polling client's disconnect waits for its pending long poll (up to the
        # 25 s ping interval): all at once, with room for that.
        async with asyncio.timeout(90):
            await asyncio.gather(*(visitor.sio.disconnect() for visitor, _ in visitors))
        for _, http in visitors:
            await http.close()


@ON_CLUSTER_LOOP
async def test_a_chat_through_haproxy_with_an_agent_on_ejabberd(cluster: Cluster) -> None:
    assert cluster.ejabberd is not None
    (dana,) = await cluster.add_agents([(f"dana-{secrets.token_hex(3)}", "Dana")], max_chats=5)
    jid, password = dana.jid, dana.password
    agent = ScriptedAgent(jid, password, host=cluster.ejabberd.host, port=cluster.ejabberd.c2s_port)
    visitor = Visitor(url=cluster.url)
    try:
        await agent.connect()
        agent.subscribe(f"{DEFAULT_QUEUE}@{cluster.component_jid}")
        await visitor.connect({"tenant": "default"})
        ack = await visitor.ok(
            "conversation.start",
            {"form": {"name": "Maria"}, "message": {"client_msg_id": "m1", "text": "Hello?"}},
        )
        conversation_id = str(ack["conversation"]["id"])
        conv_jid = f"c-{conversation_id}@{cluster.component_jid}"
        await agent.wait_for(
            lambda m: m.from_jid == conv_jid and "Hello?" in m.body, timeout=WAIT * 3
        )
        agent.send(conv_jid, "Hi Maria, how can I help?")
        deadline = time.monotonic() + WAIT * 3
        while True:
            synced = await visitor.ok("sync", {"conversation_id": conversation_id, "after_seq": 0})
            texts = [e["text"] for e in synced["events"] if e["type"] == "message"]
            if "Hi Maria, how can I help?" in texts:
                break
            assert time.monotonic() < deadline, texts
            await asyncio.sleep(0.2)
    finally:
        await visitor.disconnect()
        await agent.disconnect()


def test_the_cli_prints_the_url_and_agents_and_stops_on_sigterm(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    process = subprocess.Popen(
        [sys.executable, "-m", "chat_engine", "cluster", "--var-dir", str(var_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CHAT_ENGINE_")},
    )
    out: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            out.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        text = "".join(out)
        assert "Demo page:    http://127.0.0.1:" in text, text + (
            process.stderr.read() if process.poll() is not None and process.stderr else ""
        )
        assert "agent1@localhost  password: " in text
        pids: dict[str, int] = json.loads((var_dir / "pids.json").read_text())
        assert {"postgres", "redis", "ejabberd", "haproxy", "engine1", "engine2", "engine3"} <= set(
            pids
        )
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Stopped." in rest
    left = [name for name, pid in pids.items() if _alive(pid)]
    assert left == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
