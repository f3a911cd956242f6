"""The fault rig: a private Prosody, the engine in its own process on an SQLite file,
talking agents (``bench.faults._talkers``) and paced visitors
(``bench.faults._visitors``), each one chat, each side sending at ``scale.rate``.

A scenario opens the rig (``open_rig``), starts the load (``Rig.load``), does its
fault with the rig's parts (``kill_engine`` / ``start_engine``, ``kill_prosody`` /
``start_prosody``), waits for the clients to come back (``Rig.resynced``,
``Rig.agents_online``), and ends with ``Rig.finish``: the agents go quiet and resend
what got no receipt, the visitors go quiet, resend what got no ack and sync, and
the ledgers of both and the stored messages are checked (``bench.faults._ledger``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench._children import Child
from bench._common import Json
from bench.faults._ledger import Outcome, StoredMessage, check
from bench.faults._table import Scale
from chat_engine.local_ports import accepts, free_port
from chat_engine.prosody import ProsodyServer

CHATS_PER_AGENT = 20
SETTLE_LIMIT = 30.0
"""Seconds the end of a run may wait for the agents' cursors to catch up."""


@dataclass(frozen=True)
class Resync:
    """One visitor's way back: when it had synced, and when it tried to reconnect
    (the last try is the one that worked)."""

    synced: float
    attempts: list[float]


@dataclass(kw_only=True)
class LoadRig:
    """What every rig has: the talking agents, the paced visitors (once ``load`` ran),
    the database the messages are stored in and the HTTP port visitors connect to."""

    scale: Scale
    work: Path
    agents: Child
    agent_jids: list[str]
    database_url: str
    http_port: int
    visitors: Child | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    async def cursors_behind(self) -> int:
        """Events the agents' delivery cursors have not passed (``finish`` waits for 0)."""
        raise NotImplementedError

    # -- load ---------------------------------------------------------------------------

    async def load(self) -> None:
        """Connect the visitors, start their chats and both sides talking."""
        config = {
            "url": self.url,
            "visitors": self.scale.chats,
            "name": "v",
            "rate": self.scale.rate,
        }
        self.visitors = await Child.spawn("visitors", "bench.faults._visitors", config, self.work)
        connected = await self.visitors.expect("connected", 120)
        if connected["failures"]:
            self.problems.append(f"connects failed: {connected['failures']}")
        await self.visitors.send({"cmd": "start"})
        started = await self.visitors.expect("started", 120)
        if started["joined"] != self.scale.chats:
            self.problems.append(f"only {started['joined']} chats got an agent")
        await self.agents.send({"cmd": "talk", "on": True})
        await self.agents.expect("talking", 10)
        await self.visitors.send({"cmd": "go"})
        await self.visitors.expect("going", 10)

    async def resynced(
        self, after: float, limit: float, *, dropped_at_least: int = 0
    ) -> dict[str, Resync]:
        """Wait (at most ``limit`` s) until every visitor that lost its connection after
        ``after`` has reconnected and synced; how each did. ``dropped_at_least``: the
        fault drops some visitors for sure (a killed process had some), so an answer in
        which fewer had noticed it yet is too early to count (found in CI: the first
        status came back before any visitor had seen its connection close)."""
        assert self.visitors is not None
        deadline = time.monotonic() + limit
        while True:
            await self.visitors.send({"cmd": "status"})
            status = await self.visitors.expect("status", 30)
            dropped = {n for n, downs in status["downs"].items() if any(d >= after for d in downs)}
            synced: dict[str, Resync] = {}
            for name in dropped:
                times = [t for t in status["resyncs"][name] if t >= after]
                if times:
                    attempts = [a for a in status["attempts"][name] if after <= a <= times[0]]
                    synced[name] = Resync(synced=times[0], attempts=attempts)
            settled = len(synced) == len(dropped) and len(dropped) >= dropped_at_least
            if settled or time.monotonic() > deadline:
                if len(synced) < len(dropped):
                    self.problems.append(
                        f"{len(dropped) - len(synced)} visitors not resynced in {limit:g} s"
                    )
                if len(dropped) < dropped_at_least:
                    self.problems.append(
                        f"only {len(dropped)} visitors saw the fault in {limit:g} s, "
                        f"not at least {dropped_at_least}"
                    )
                return synced
            await asyncio.sleep(0.1)

    async def agents_online(self, after: float, limit: float) -> list[float]:
        """Wait (at most ``limit`` s) until every agent is logged in again after
        ``after``; the wall-clock times they did."""
        deadline = time.monotonic() + limit
        while True:
            await self.agents.send({"cmd": "status"})
            status = await self.agents.expect("status", 30)
            again = [max(ts) for ts in status["logins"].values() if ts and max(ts) >= after]
            if len(again) == len(self.agent_jids) or time.monotonic() > deadline:
                if len(again) < len(self.agent_jids):
                    self.problems.append("agents not logged in again in time")
                return again
            await asyncio.sleep(0.1)

    async def finish(self) -> Outcome:
        """Quiet both sides, let them resend and sync, and check everything."""
        assert self.visitors is not None
        await self.agents.send({"cmd": "talk", "on": False})
        await self.agents.expect("talking", 10)
        # Every agent message receipted (or given up on) before the visitors' last sync.
        deadline = time.monotonic() + SETTLE_LIMIT
        while time.monotonic() < deadline:
            await self.agents.send({"cmd": "unsettled"})
            unsettled = await self.agents.expect("unsettled", 30)
            if not unsettled["unreceipted"]:
                break
            if not unsettled["waiting"]:
                await self.agents.send({"cmd": "resend"})
                await self.agents.expect("resent", 10)
            await asyncio.sleep(0.2)
        # What counts as accepted is what was receipted before the visitors' last sync:
        # a receipt that comes later is for a message that sync may not have seen.
        receipted = {a["jid"]: a["receipted"] for a in (await self._agents_ledger())["agents"]}
        await self.visitors.send({"cmd": "quiet"})
        visitors = (await self.visitors.expect("ledger", 120))["visitors"]
        deadline = time.monotonic() + SETTLE_LIMIT
        while await self.cursors_behind() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # the last stanzas on their way to the agents
        agents = (await self._agents_ledger())["agents"]
        for agent in agents:
            agent["receipted"] = receipted[agent["jid"]]
        stored = await stored_messages(self.database_url)
        ledger = {"visitors": visitors, "agents": agents, "stored": stored}
        (self.work / "ledger.json").write_text(json.dumps(ledger))
        return check(visitors, agents, stored)

    async def _agents_ledger(self) -> Json:
        await self.agents.send({"cmd": "ledger"})
        return await self.agents.expect("ledger", 60)


@dataclass(kw_only=True)
class Rig(LoadRig):
    """One engine in its own process (``bench._engine_server``) on Prosody."""

    prosody: ProsodyServer
    engine: Child | None = None
    engine_pid: int = 0
    _restarts: int = 0

    # -- engine -------------------------------------------------------------------------

    def engine_config(self) -> Json:
        prosody = self.prosody
        agents = len(self.agent_jids)
        return {
            "xmpp": {
                "component_jid": prosody.component_jid,
                "host": prosody.host,
                "port": prosody.component_port,
                "secret": prosody.component_secret,
            },
            "agents": self.agent_jids,
            "database_url": self.database_url,
            "max_chats": min(100, math.ceil(self.scale.chats / agents) + 1),
            "max_queue_waiting": max(1000, 2 * self.scale.chats),
            "http_port": self.http_port,
            "watch_link": True,
        }

    async def start_engine(self, agents_ready: Awaitable[object] | None = None) -> float:
        """Start the engine and wait until it is ready; the wall-clock time its HTTP
        port first accepted connections (the engine being back, for a visitor).
        ``agents_ready``: what to await before the agents subscribe (their login, when
        the first engine starts meanwhile)."""
        name = f"engine-{self._restarts}"
        self._restarts += 1
        self.engine = await Child.spawn(
            name, "bench._engine_server", self.engine_config(), self.work
        )
        back = await self._port_open(self.engine)
        await self.engine.expect("agents_added", 90)
        if agents_ready is not None:
            await agents_ready
        await self.agents.send({"cmd": "subscribe", "to": f"support@{self.prosody.component_jid}"})
        await self.agents.expect("subscribed", 30)
        ready = await self.engine.expect("ready", 90)
        self.engine_pid = int(ready["pid"])
        return back

    async def _port_open(self, engine: Child) -> float:
        deadline = time.monotonic() + 90
        while not await asyncio.to_thread(accepts, "127.0.0.1", self.http_port):
            if engine.process.returncode is not None or time.monotonic() > deadline:
                await engine.expect("ready", 1)  # raises, with the end of its log
            await asyncio.sleep(0.02)
        return time.time()

    async def kill_engine(self) -> float:
        """SIGKILL the engine; the wall-clock time it was sent."""
        assert self.engine is not None
        killed = time.time()
        self.engine.process.send_signal(signal.SIGKILL)
        await self.engine.process.wait()
        return killed

    async def cursors_behind(self) -> int:
        assert self.engine is not None
        await self.engine.send({"cmd": "cursors"})
        return int((await self.engine.expect("cursors", 30))["behind"])

    async def link_up(self, timeout: float) -> float:
        """The wall-clock time the engine next reports its XMPP link up (and caught up)."""
        assert self.engine is not None
        deadline = time.monotonic() + timeout
        while True:
            event = await self.engine.expect("link", max(0.1, deadline - time.monotonic()))
            if event["up"]:
                return float(event["wall"])

    # -- Prosody ------------------------------------------------------------------------

    async def kill_prosody(self) -> float:
        pid = self.prosody.pid
        assert pid is not None
        killed = time.time()
        os.kill(pid, signal.SIGKILL)
        while self.prosody.running:  # noqa: ASYNC110 - polling a process we do not own
            await asyncio.sleep(0.01)
        return killed

    async def start_prosody(self) -> float:
        """Start Prosody again; the wall-clock time all its ports accept."""
        await self.prosody.astart(timeout=30)
        return time.time()


async def stored_messages(url: str) -> list[StoredMessage]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text(
                    "SELECT conversation_id, seq, client_msg_id, sender_kind, text"
                    " FROM conversation_events WHERE type = 'message'"
                )
            )
            return [StoredMessage(*row) for row in result.all()]
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def open_rig(scale: Scale, work: Path) -> AsyncIterator[Rig]:
    """Prosody, the agents and the engine (on a new SQLite file in ``work``), ready."""
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    prosody = ProsodyServer(
        work / "prosody",
        component_secret=secrets.token_hex(32),
        c2s_port=free_port(),
        component_port=free_port(),
    )
    await prosody.astart(timeout=30)
    agents_child: Child | None = None
    rig: Rig | None = None
    try:
        count = max(2, math.ceil(scale.chats / CHATS_PER_AGENT))
        passwords = [secrets.token_urlsafe(12) for _ in range(count)]
        jids = await asyncio.gather(
            *(prosody.aregister(f"fault-agent-{n + 1}", p) for n, p in enumerate(passwords))
        )
        accounts = [{"jid": j, "password": p} for j, p in zip(jids, passwords, strict=True)]
        config = {
            "host": prosody.host,
            "port": prosody.c2s_port,
            "agents": accounts,
            "rate": scale.rate,
        }
        agents_child = await Child.spawn("agents", "bench.faults._talkers", config, work)
        # The agents log in while the engine starts.
        logged_in = asyncio.ensure_future(agents_child.expect("ready", 60))
        rig = Rig(
            scale=scale,
            work=work,
            prosody=prosody,
            agents=agents_child,
            agent_jids=[a["jid"] for a in accounts],
            database_url=f"sqlite+aiosqlite:///{work / 'engine.db'}",
            http_port=free_port(),
        )
        try:
            await rig.start_engine(logged_in)
        finally:
            logged_in.cancel()
        yield rig
    finally:
        if rig is not None:
            for child in (rig.visitors, rig.engine):
                if child is not None:
                    with contextlib.suppress(Exception):
                        await child.stop(15)
        if agents_child is not None:
            await agents_child.stop(10)
        await prosody.astop()
