"""The parts a network-fault scenario runs, each where a user would run it:

- a fresh Prosody (``chat_engine.prosody.ProsodyServer``) on free loopback ports;
- the engine alone in its process (``bench._engine_server``, as ``bench.roundtrip`` runs
  it: SQLite in the work directory, the visitor-edge budgets lifted since every visitor
  comes from 127.0.0.1), its component connecting to Prosody through ``xmpp`` (a
  ``FaultProxy``);
- ``web``, a ``FaultProxy`` in front of the engine's HTTP port, which visitors use;
- ``LedgerAgent`` s logged in to Prosody directly (the agents' own link is not under
  test), subscribed to the queue so the engine sees them ready.

Agents and visitors run in the scenario's process; the engine's CPU and memory are its
own (``engine_rss_kb``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench._children import Child
from bench._common import Json, rss_kb
from bench._engine_server import _BEHIND
from bench.faults._desk import LedgerAgent
from bench.faults._proxy import FaultProxy
from chat_engine.local_ports import free_port
from chat_engine.prosody import ProsodyServer


@dataclass
class Stack:
    prosody: ProsodyServer
    engine: Child
    engine_pid: int
    xmpp: FaultProxy
    web: FaultProxy
    agents: list[LedgerAgent]
    http: aiohttp.ClientSession
    work: Path
    database: Path

    @property
    def url(self) -> str:
        """Where visitors connect: the web proxy."""
        return f"http://127.0.0.1:{self.web.port}"

    def engine_rss_kb(self) -> int:
        return rss_kb(self.engine_pid)

    async def cursors_behind(self) -> int:
        """Events of active conversations the agents' delivery cursors have not passed
        (``bench._engine_server``'s measure), read from the engine's SQLite file."""

        def read() -> int:
            with contextlib.closing(
                sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
            ) as db:
                (behind,) = db.execute(_BEHIND.text).fetchone()
            return int(behind)

        return await asyncio.to_thread(read)


@contextlib.asynccontextmanager
async def stack(work: Path, *, chats: int) -> AsyncIterator[Stack]:
    agents = max(2, min(10, chats // 10))
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    prosody = ProsodyServer(
        work / "prosody",
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
    )
    await prosody.astart(timeout=30)
    opened: list[LedgerAgent] = []
    database = work / "engine.db"
    engine: Child | None = None
    xmpp = web = None
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:
        accounts = []
        for number in range(1, agents + 1):
            password = secrets.token_urlsafe(12)
            jid = await prosody.aregister(f"fault-agent-{number}", password)
            accounts.append((jid, password))
        opened += [
            LedgerAgent(jid, password, host=prosody.host, port=prosody.c2s_port, label=f"ag{n}")
            for n, (jid, password) in enumerate(accounts, start=1)
        ]
        xmpp = await FaultProxy(prosody.host, prosody.component_port).start()
        config: Json = {
            "database_url": f"sqlite+aiosqlite:///{database}",
            "xmpp": {
                "component_jid": prosody.component_jid,
                "host": "127.0.0.1",
                "port": xmpp.port,
                "secret": prosody.component_secret,
            },
            "agents": [jid for jid, _ in accounts],
            "max_chats": math.ceil(chats / agents) + 1,
            "max_queue_waiting": max(1000, 2 * chats),
        }
        engine = await Child.spawn("engine", "bench._engine_server", config, work)
        # The agents log in while the engine starts (its imports and migrations).
        await asyncio.gather(*(agent.connect() for agent in opened))
        await engine.expect("agents_added", 90)
        for agent in opened:
            agent.subscribe(f"support@{prosody.component_jid}")
            agent.presence()
        ready = await engine.expect("ready", 90)
        web = await FaultProxy("127.0.0.1", int(ready["port"])).start()
        yield Stack(
            prosody=prosody,
            engine=engine,
            engine_pid=int(ready["pid"]),
            xmpp=xmpp,
            web=web,
            agents=opened,
            http=http,
            work=work,
            database=database,
        )
    finally:
        await http.close()
        for proxy in (web, xmpp):
            if proxy is not None:
                await proxy.stop()
        if engine is not None:
            await engine.stop()
        for agent in opened:
            await agent.disconnect()
        await prosody.astop()
