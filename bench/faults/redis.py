"""Redis stopped and started under load: every visitor's seq gap is found and filled.

Two engines share one database and a private Redis (python-socketio's message queue,
``chat_engine.private_redis``), as two processes behind a load balancer do; both run in
this process, each with its own services. The visitors are connected to engine B; the
agents' messages are stored and published by engine A, so they reach the visitors only
through Redis. Each visitor applies events as the widget's core does: once each, in
seq order, and a live event past a gap makes it ``sync`` from the last seq applied.

The agents write ``scale.rate`` messages per second in each chat for ``scale.seconds``;
Redis is killed (SIGKILL), the agents go on writing for ``down_seconds`` (what A
publishes then is lost on the way), Redis starts again on the same port, and then the
agents are silent: no later event reveals the gap, so only the engine can get it filled.
Counted: messages stored and never shown to their visitor (lost), seqs shown twice
(duplicated), and how long after Redis accepted connections again every visitor had
everything (recovery).
"""

from __future__ import annotations

import asyncio
import math
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.faults._inprocess import LoadVisitor, connect_visitors, lifted, services_on, serving
from bench.faults._table import Row, Scale, Scenario
from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT, AgentId, ConversationId
from business.services import Services
from chat_engine.bootstrap import bootstrap
from chat_engine.private_redis import PrivateRedis
from data import Database

FILL_BOUND = 5.0
"""What the issue asks: every gap filled within this long of Redis being back."""
WAIT_SECONDS = 15.0
"""How long after Redis is back the scenario waits for the visitors to be whole."""
CHATS_PER_AGENT = 50


def down_seconds(scale: Scale) -> float:
    """How long the store stays down: 5 s at full scale, 2 s at make test's."""
    return min(5.0, scale.seconds * 2 / 3)


@dataclass
class Follower:
    """What the widget's core does with a conversation's events (events.js): apply once
    each in seq order; a live event past a gap syncs from the last seq applied."""

    visitor: LoadVisitor
    last_seq: int = 0
    shown: list[int] = field(default_factory=list)
    shown_at: dict[int, float] = field(default_factory=dict)
    """seq -> wall-clock time it was shown."""
    redelivered: int = 0
    gaps: int = 0
    syncing: asyncio.Task[None] | None = None
    again: bool = False

    def __post_init__(self) -> None:
        self.visitor.sio.on("event", self._on_event, namespace="/visitor")

    async def _on_event(self, event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if not isinstance(seq, int) or event.get("conversation_id") != self.conversation_id:
            return
        if seq <= self.last_seq:
            self.redelivered += 1
        elif seq == self.last_seq + 1 and self.syncing is None:
            self._show(seq)
        else:
            self.gaps += 1
            self.sync()

    @property
    def conversation_id(self) -> str:
        return self.visitor.conversation_id

    def _show(self, seq: int) -> None:
        self.shown.append(seq)
        self.shown_at.setdefault(seq, time.time())
        self.last_seq = seq

    def sync(self) -> None:
        if self.syncing is not None:
            self.again = True
            return
        self.syncing = asyncio.create_task(self._sync())

    async def _sync(self) -> None:
        try:
            while True:
                self.again = False
                ack = await self.visitor.call(
                    "sync", {"conversation_id": self.conversation_id, "after_seq": self.last_seq}
                )
                if not ack.get("ok"):
                    await asyncio.sleep(0.5)
                    continue
                for event in ack["events"]:
                    if event["seq"] == self.last_seq + 1:
                        self._show(event["seq"])
                if not (ack.get("has_more") or self.again):
                    return
        finally:
            self.syncing = None


async def run(scale: Scale, work: Path) -> Row:
    row = Row(fault="redis-restart", scale=scale.name)
    redis = PrivateRedis(work / "redis")
    database = Database.from_url(f"sqlite+aiosqlite:///{work / 'engine.db'}")
    try:
        await redis.start()
        services_a = await services_on(database)
        services_b = bootstrap(uow=database.unit_of_work)
        agents = await _agents(services_a, math.ceil(scale.chats / CHATS_PER_AGENT))
        settings = lifted(redis_url=redis.url)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(serving(services_a, settings))
            url_b = await stack.enter_async_context(serving(services_b, settings))
            visitors = await connect_visitors(url_b, scale.chats)
            followers = [Follower(v) for v in visitors]
            # What the start stored (and was sent before the followers listened).
            for follower in followers:
                follower.sync()
            try:
                owners = await _owners(database, agents)
                await _load(scale, redis, services_a, database, owners, followers, row)
            finally:
                await asyncio.gather(*(v.close() for v in visitors))
    finally:
        await database.dispose()
        await redis.close()
    return row


async def _agents(services: Services, count: int) -> list[AgentId]:
    agents = []
    for n in range(count):
        agent_id = AgentId(f"agent{n}@faults.example")
        await services.agents.add_agent(
            c.AddAgent(
                address=agent_id,
                agent_id=agent_id,
                queues=(DEFAULT_QUEUE,),
                max_chats=CHATS_PER_AGENT,
                tenant_id=DEFAULT_TENANT,
                name=f"Agent {n}",
                auto_accept=True,
            )
        )
        await services.agents.set_availability(
            c.SetAgentAvailability(agent_id=agent_id, ready=True)
        )
        agents.append(agent_id)
    return agents


async def _owners(database: Database, agents: list[AgentId]) -> dict[str, AgentId]:
    """Conversation id -> the agent who has it (every chat was taken at its start)."""
    async with database.begin() as connection:
        rows = (await connection.execute(text("SELECT id, agent_id FROM conversations"))).all()
    owners = {conversation: AgentId(agent) for conversation, agent in rows if agent}
    if len(owners) != len(rows):
        raise RuntimeError(f"{len(rows) - len(owners)} chats were not taken by {agents}")
    return owners


async def _load(
    scale: Scale,
    redis: PrivateRedis,
    services: Services,
    database: Database,
    owners: dict[str, AgentId],
    followers: list[Follower],
    row: Row,
) -> None:
    started = time.time()
    stop_at = started + scale.seconds
    quiet_at = stop_at + down_seconds(scale)
    interval = 1.0 / scale.rate
    written = 0

    async def agent_writes(follower: Follower) -> None:
        nonlocal written
        conversation_id = follower.conversation_id
        tick = started + interval * follower.visitor.number / len(followers)
        number = 0
        while tick < quiet_at:
            await asyncio.sleep(max(0.0, tick - time.time()))
            if time.time() >= quiet_at:
                break  # behind schedule (a busy machine): the agents are quiet now
            await services.messaging.send_agent_message(
                c.SendAgentMessage(
                    agent_id=owners[conversation_id],
                    conversation_id=ConversationId(conversation_id),
                    text=f"agent message {number} in {conversation_id}",
                    client_msg_id=f"{conversation_id}-a{number}",
                )
            )
            written += 1
            number += 1
            tick += interval

    async def fault() -> tuple[float, float, dict[str, int], dict[str, int]]:
        await asyncio.sleep(max(0.0, stop_at - time.time()))
        await redis.stop(kill=True)  # a crash: connections drop at once
        stopped = time.time()
        await asyncio.sleep(max(0.0, quiet_at - time.time()))
        back = await redis.start()
        # What each visitor had when Redis was back (nothing can have resynced yet:
        # no await since it accepted connections), and what was stored then.
        had = {f.conversation_id: f.last_seq for f in followers}
        return stopped, back, had, await _last_seqs(database)

    (stopped, back, had, stored), _ = await asyncio.gather(
        fault(), asyncio.gather(*(agent_writes(f) for f in followers))
    )
    behind = [f for f in followers if had[f.conversation_id] < stored[f.conversation_id]]
    expected: dict[str, int] = {}
    while time.time() < back + WAIT_SECONDS:
        expected = await _last_seqs(database)
        if all(f.last_seq >= expected[f.conversation_id] for f in followers):
            break
        await asyncio.sleep(0.1)
    # Whole again: the moment each visitor that was behind was shown what was stored
    # when Redis came back (what came later went live, or is counted as lost below).
    whole = [f.shown_at.get(stored[f.conversation_id]) for f in behind]
    whole_at = None if None in whole else max([back, *(at for at in whole if at is not None)])
    row.recovery_s = None if whole_at is None else whole_at - back
    row.acked = written
    for follower in followers:
        wanted = set(range(1, expected[follower.conversation_id] + 1))
        row.lost += len(wanted - set(follower.shown))
        row.duplicated += len(follower.shown) - len(set(follower.shown))
    row.notes.update(
        agent_messages=written,
        # Fewer than scheduled when the machine cannot keep the pace.
        scheduled=len(followers) * math.ceil((quiet_at - started) * scale.rate),
        behind_when_back=len(behind),
        gaps_seen=sum(f.gaps for f in followers),
        redelivered=sum(f.redelivered for f in followers),
        down_s=round(back - stopped, 2),
        filled_within_bound=whole_at is not None and whole_at - back <= FILL_BOUND,
    )


async def _last_seqs(database: Database) -> dict[str, int]:
    """Conversation id -> its newest seq, as stored."""
    async with database.begin() as connection:
        rows = (await connection.execute(text("SELECT id, last_seq FROM conversations"))).all()
    return {conversation: int(last) for conversation, last in rows}


SCENARIO = Scenario(
    name="redis-restart",
    what="Redis (Socket.IO message queue) killed under load and started again",
    run=run,
)
