"""The chat engine under test, alone in its process so its CPU time is its own.

Started by ``bench.roundtrip``; configuration on the first stdin line (JSON):
``database_url``, ``xmpp`` (``component_jid``, ``host``, ``port``, ``secret``),
``agents`` (bare JIDs), ``max_chats``, ``max_queue_waiting``, ``uvloop``; for
``bench.faults`` also ``http_port`` (the same one across a restart) and ``watch_link``
(report ``link`` whenever the XMPP link comes up or goes down).

It builds ``chat_engine.engine.Engine`` with settings for that Prosody and database,
with the visitor-edge limits lifted through the settings (every load visitor comes from
127.0.0.1), adds the agents, reports ``agents_added``, waits until every agent is ready
(the orchestrator has them subscribe meanwhile) and reports ``ready``. Then, on
commands: ``sample`` (CPU, RSS, SQL counts now), ``cursors`` (events of active
conversations the agents' delivery cursors have not passed), ``window`` (the same at two wall-clock
times, taken by a thread), ``stop``.

SQL is counted with ``before_cursor_execute`` (every statement the driver runs,
including SQLite's ``BEGIN IMMEDIATE``) and ``commit`` listeners on every SQLAlchemy
engine of the process (the SQLite writer thread's too).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import Counter
from typing import Any

from sqlalchemy import Engine as SqlEngine, event, text

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
from business import commands as c
from business.model import DEFAULT_QUEUE, DEFAULT_TENANT
from chat_engine.engine import Engine
from chat_engine.gc_tuning import tune_gc
from chat_engine.settings import Settings, load_settings

READY_TIMEOUT = 60.0
UNLIMITED = 1_000_000
"""A budget or count no load of this benchmark reaches."""


class SqlCounter:
    def __init__(self) -> None:
        self.statements = 0
        self.commits = 0
        self.by_text: Counter[str] = Counter()
        self._lock = threading.Lock()

    def on_statement(
        self, _conn: Any, _cursor: Any, statement: str, _params: Any, _ctx: Any, _many: bool
    ) -> None:
        with self._lock:  # the event loop's thread and the SQLite writer's both count
            self.statements += 1
            self.by_text[statement] += 1

    def kinds(self) -> dict[str, int]:
        """Statements by their first words (``UPDATE conversations SET last_seq``, ...)."""
        kinds: Counter[str] = Counter()
        with self._lock:
            counts = dict(self.by_text)
        for statement, count in counts.items():
            kinds[_kind(statement)] += count
        return dict(kinds)

    def on_commit(self, *_: Any) -> None:
        with self._lock:
            self.commits += 1


def _kind(statement: str) -> str:
    """``SELECT … FROM conversations WHERE conversations.id = ?`` and the like: enough of
    a statement to tell what it does, without its column lists."""
    words = " ".join(statement.split())
    head = words.split(" ", 1)[0].upper()
    if head == "SELECT":
        table = words.partition(" FROM ")[2].split(" ", 1)[0]
        where = words.partition(" WHERE ")[2]
        return f"SELECT … FROM {table}" + (f" WHERE {where[:60]}" if where else "")
    if head in ("INSERT", "UPDATE", "DELETE"):
        return " ".join(words.split(" ")[:3]) + (" …" if len(words) > 40 else "")
    return words[:50]


async def cursors_behind(engine: Engine) -> int:
    """Events of active conversations the agents' delivery cursors have not passed."""
    async with engine.database.begin() as connection:
        result = await connection.execute(_BEHIND)
        return int(result.scalar_one())


class LagWatch:
    """The bridge's delivery lag (``delivery_lag``: how long the oldest event sent to an
    agent has waited for its cursor to be stored, what a crash would send again),
    sampled every ``every`` seconds on the event loop."""

    def __init__(self, engine: Engine, every: float = 0.02) -> None:
        self._engine = engine
        self._every = every
        self._samples: list[float] = []

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            self._samples.append(self._engine.bridge.delivery_lag())

    def take(self) -> Json:
        """The largest and the mean lag sampled since the last ``take`` (from any
        thread: the list is swapped, never changed in place)."""
        samples, self._samples = self._samples, []
        if not samples:
            return {}
        return {"lag_max": max(samples), "lag_mean": sum(samples) / len(samples)}


_BEHIND = text(
    "SELECT COALESCE(SUM(last_pos - agent_delivered_pos), 0) FROM conversations"
    " WHERE state = 'active'"
)


async def watch_link(engine: Engine, every: float = 0.02) -> None:
    """Report ``link`` (``up``, ``wall``) whenever the XMPP link comes up (connected and
    caught up) or goes down, for the fault scenarios."""
    up = engine.bridge.connected
    while True:
        await asyncio.sleep(every)
        if engine.bridge.connected != up:
            up = engine.bridge.connected
            report("link", up=up, wall=time.time())


def engine_settings(config: Json) -> Settings:
    xmpp = config["xmpp"]
    return load_settings(
        None,
        {},
        {
            "http.host": "127.0.0.1",
            "http.port": int(config.get("http_port", 0)),
            # The load comes from one address, as many visitors, each sending as fast as
            # its echo comes back: no budget of the visitor edge may throttle it.
            "http.event_burst": UNLIMITED,
            "http.event_rate_per_second": float(UNLIMITED),
            "http.connect_burst": UNLIMITED,
            "http.connect_rate_per_second": float(UNLIMITED),
            "http.new_visitor_burst": UNLIMITED,
            "http.new_visitor_rate_per_second": float(UNLIMITED),
            "http.max_sockets_per_address": UNLIMITED,
            "http.max_connections_per_address": UNLIMITED,
            "limits.max_queue_waiting": int(config["max_queue_waiting"]),
            "database.url": config["database_url"],
            "xmpp.component_jid": xmpp["component_jid"],
            "xmpp.host": xmpp["host"],
            "xmpp.port": int(xmpp["port"]),
            "xmpp.secret": xmpp["secret"],
        },
    )


async def add_agents(engine: Engine, agents: list[str], max_chats: int) -> None:
    for number, jid in enumerate(agents, start=1):
        await engine.services.agents.add_agent(
            c.AddAgent(
                address=jid,
                queues=(DEFAULT_QUEUE,),
                max_chats=max_chats,
                tenant_id=DEFAULT_TENANT,
                name=f"Agent {number}",
                # The echo agents answer every message: the offer text would be echoed
                # back as their reply. Taken at once, as the relay's are.
                auto_accept=True,
            )
        )


async def until_ready(engine: Engine, agents: list[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = set(agents)
    while waiting:
        for jid in sorted(waiting):
            agent = await engine.services.agents.find_agent(jid)
            if agent is not None and agent.ready:
                waiting.discard(jid)
        if time.monotonic() > deadline:
            raise TimeoutError(f"agents not ready after {READY_TIMEOUT:g} s: {sorted(waiting)}")
        await asyncio.sleep(0.1)


async def main() -> None:
    config = read_config()
    commands = Commands()
    settings = engine_settings(config)
    engine = Engine(settings)
    await engine.start()
    if os.environ.get("BENCH_PYTHON_GC") != "1":  # as ``chat-engine run`` does
        tune_gc(freeze=settings.runtime.gc_freeze, threshold=settings.runtime.gc_threshold)
    try:
        await engine.bridge.wait_connected(20.0)
        counter = SqlCounter()
        # On the class: every engine of the process, the SQLite writer's too.
        event.listen(SqlEngine, "before_cursor_execute", counter.on_statement)
        event.listen(SqlEngine, "commit", counter.on_commit)
        agents = [str(jid) for jid in config["agents"]]
        await add_agents(engine, agents, int(config["max_chats"]))
        report("agents_added")
        await until_ready(engine, agents)

        def sample() -> Json:
            return {
                "wall": time.time(),
                "cpu": time.process_time(),
                "loop_cpu": main_thread_cpu(),
                "rss_kb": rss_kb(),
                "statements": counter.statements,
                "commits": counter.commits,
                "kinds": counter.kinds(),
            }

        loop = asyncio.get_running_loop()
        lags = LagWatch(engine)
        lag_watch = asyncio.create_task(lags.run())

        def window_sample() -> Json:
            """``sample``, the delivery cursors' distance behind and the delivery lag
            sampled since the last call (from the window's thread: the query runs on
            the event loop)."""
            behind = asyncio.run_coroutine_threadsafe(cursors_behind(engine), loop)
            return sample() | {"cursors_behind": behind.result(timeout=30)} | lags.take()

        async def behind() -> Json:
            return {"behind": await cursors_behind(engine)}

        watching = asyncio.create_task(watch_link(engine)) if config.get("watch_link") else None
        report("ready", port=engine.port, pid=os.getpid(), database=engine.database.dialect)
        await serve_commands(commands, sample, window_sample, {"cursors": behind})
        lag_watch.cancel()
        if watching is not None:
            watching.cancel()
    finally:
        await engine.stop()
    report("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    run(main(), use_uvloop=os.environ.get("BENCH_UVLOOP") == "1")
