"""The fault rig on the local cluster (``chat_engine.cluster``): the same paced visitors
(``bench.faults._visitors``, through HAProxy), talking agents (``bench.faults._talkers``,
on the cluster's ejabberd) and ledger check (``bench.faults._ledger``) as the one-engine
rig, with the engine processes killed and restarted by the cluster itself.

HAProxy spreads the visitors' WebSockets over the engines round robin (the visitors'
cookie jar refuses HAProxy's cookie for an IP address, as a widget on a customer's
site sends none); which visitors a fault hit is read afterwards from who lost their
connection (``LoadRig.resynced``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bench._children import Child
from bench.faults._ledger import VISITOR_PREFIX
from bench.faults._rig import CHATS_PER_AGENT, LoadRig
from bench.faults._table import Scale
from business.model import DEFAULT_QUEUE
from chat_engine.cluster import Cluster
from chat_engine.haproxy import COOKIE

DELAYED = 2.0
"""Seconds from stored to received by an agent above which a message counts as delayed."""


@dataclass(frozen=True)
class Delays:
    delayed: int
    """Visitor messages that reached an agent more than ``DELAYED`` s after being stored."""
    worst_s: float
    """The longest such delay."""


@dataclass(kw_only=True)
class ClusterRig(LoadRig):
    cluster: Cluster
    since: datetime
    """Conversations created from then on are this rig's."""

    async def _scalar(self, sql: str, **params: object) -> object:
        engine = create_async_engine(self.database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                result = await connection.execute(text(sql), {"since": self.since, **params})
                return result.scalar_one()
        finally:
            await engine.dispose()

    async def cursors_behind(self) -> int:
        """Events of this rig's active conversations no owner has delivered to the agents yet."""
        behind = await self._scalar(
            "SELECT COALESCE(SUM(last_pos - agent_delivered_pos), 0) FROM conversations"
            " WHERE state = 'active' AND created_at >= :since"
        )
        return int(str(behind))

    async def unreceipted(self) -> int:
        """Agent messages sent and not (yet) confirmed as stored."""
        await self.agents.send({"cmd": "unsettled"})
        return int((await self.agents.expect("unsettled", 30))["unreceipted"])

    async def stalled(self, after: float) -> int:
        """This rig's conversations without both a visitor's and an agent's message stored
        after ``after`` (wall clock): the ones that did not go on."""
        stalled = await self._scalar(
            "SELECT COUNT(*) FROM conversations c WHERE c.created_at >= :since AND ("
            " SELECT COUNT(DISTINCT e.sender_kind) FROM conversation_events e"
            " WHERE e.conversation_id = c.id AND e.type = 'message'"
            " AND e.sender_kind IN ('visitor', 'agent') AND e.created_at > :after) < 2",
            after=datetime.fromtimestamp(after, UTC),
        )
        return int(str(stalled))

    async def delays(self) -> Delays:
        """From the ledger ``finish`` wrote: how late visitor messages reached the agents."""
        ledger = json.loads((self.work / "ledger.json").read_text())
        received: dict[str, float] = {}
        for agent in ledger["agents"]:
            for body, at in agent.get("received_at", {}).items():
                received[body] = min(at, received.get(body, at))
        engine = create_async_engine(self.database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(
                        text(
                            "SELECT text, created_at FROM conversation_events"
                            " WHERE type = 'message' AND created_at >= :since"
                            " AND text LIKE :prefix"
                        ),
                        {"since": self.since, "prefix": VISITOR_PREFIX + "%"},
                    )
                ).all()
        finally:
            await engine.dispose()
        late = [
            received[body] - _epoch(created)
            for body, created in rows
            if body in received and received[body] - _epoch(created) > DELAYED
        ]
        return Delays(delayed=len(late), worst_s=round(max(late, default=0.0), 2))


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@contextlib.asynccontextmanager
async def open_cluster_rig(
    cluster: Cluster, scale: Scale, work: Path, label: str
) -> AsyncIterator[ClusterRig]:
    """New agents (``<label>-agent-<n>``, auto-accepting in queue ``support``) logged in
    to the cluster's ejabberd and subscribed; the visitors start with ``load``."""
    assert cluster.ejabberd is not None
    work.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before anything runs
    count = max(2, math.ceil(scale.chats / CHATS_PER_AGENT))
    made = await cluster.add_agents(
        [(f"{label}-agent-{n}", f"Agent {label}-agent-{n}") for n in range(1, count + 1)],
        max_chats=min(100, math.ceil(scale.chats / count) + 1),
    )
    accounts = [{"jid": a.jid, "password": a.password} for a in made]
    since = datetime.now(UTC) - timedelta(seconds=1)
    config = {
        "host": cluster.ejabberd.host,
        "port": cluster.ejabberd.c2s_port,
        "agents": accounts,
        "rate": scale.rate,
    }
    agents = await Child.spawn(f"{label}-agents", "bench.faults._talkers", config, work)
    rig = ClusterRig(
        scale=scale,
        work=work,
        agents=agents,
        agent_jids=[a["jid"] for a in accounts],
        database_url=cluster.database_url,
        http_port=cluster.http_port,
        cluster=cluster,
        since=since,
    )
    try:
        await agents.expect("ready", 60)
        await agents.send({"cmd": "subscribe", "to": f"{DEFAULT_QUEUE}@{cluster.component_jid}"})
        await agents.expect("subscribed", 30)
        yield rig
    finally:
        if rig.visitors is not None:
            with contextlib.suppress(Exception):
                await rig.visitors.stop(15)
        await agents.stop(10)


async def served_again(cluster: Cluster, i: int, timeout: float) -> float:
    """Wait until HAProxy sends new sessions to engine ``i`` again (its checks passed);
    the wall-clock time it did."""
    name = cluster.engines[i].name
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, KeyError):
                async with http.get(
                    f"{cluster.url}/socket.io/",
                    params={"EIO": "4", "transport": "polling"},
                    timeout=aiohttp.ClientTimeout(total=5),
                ) as response:
                    if response.cookies[COOKIE].value == name:
                        return time.time()
            await asyncio.sleep(0.3)
    raise TimeoutError(f"HAProxy did not send sessions to {name} within {timeout:g} s")
