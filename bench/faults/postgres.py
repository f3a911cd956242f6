"""PostgreSQL restarted under load: nothing acknowledged is lost or stored twice, and
while it is down every refused send is ``unavailable``, never ``internal``.

A private cluster (``initdb``, ``pg_ctl``; see ``chat_engine.private_postgres``) gets the
engine's schema; the engine runs in this process on it, and ``scale.chats`` visitors
write ``scale.rate`` messages per second through the widget's outbox: in order, one
at a time, each retried with the same ``client_msg_id`` and the widget's backoff until
acknowledged (``bench.faults._inprocess``). After ``scale.seconds`` PostgreSQL is
stopped with ``pg_ctl stop -m immediate`` (every backend dies at once, no checkpoint),
the visitors go on writing for ``down_seconds``, PostgreSQL starts again, and the load
goes on for ``scale.seconds``.

Counted: acknowledged messages missing from the database (lost), messages stored twice
or acknowledged with two different seqs (duplicated), the error codes of refused sends,
sends left unanswered for ``ACK_TIMEOUT`` (a hang), and the recovery: from PostgreSQL
accepting connections again until every visitor has had a send acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import text

from bench.faults._inprocess import (
    LoadVisitor,
    Tally,
    connect_visitors,
    lifted,
    services_on,
    serving,
)
from bench.faults._table import Row, Scale, Scenario
from chat_engine.private_postgres import PrivatePostgres
from data import Database
from data.settings import DatabaseSettings

DRAIN_SECONDS = 30.0
"""How long after the load the visitors may still retry what is not yet acknowledged."""


def down_seconds(scale: Scale) -> float:
    """How long the store stays down: 5 s at full scale, 2 s at make test's."""
    return min(5.0, scale.seconds * 2 / 3)


async def run(scale: Scale, work: Path) -> Row:
    row = Row(fault="postgres-restart", scale=scale.name)
    cluster = PrivatePostgres(work / "postgres")
    try:
        await cluster.start()
        # A short connect timeout: while the server is down, a request that needs a new
        # connection learns it in a second instead of holding the visitor for ten.
        database = Database.from_settings(DatabaseSettings(url=cluster.url, connect_timeout=1.0))
        try:
            services = await services_on(database)
            async with serving(services, lifted()) as url:
                visitors = await connect_visitors(url, scale.chats)
                try:
                    acked = await _load(scale, cluster, visitors, row)
                finally:
                    await asyncio.gather(*(v.close() for v in visitors))
            await _count_stored(database, acked, row)
        finally:
            await database.dispose()
    finally:
        await cluster.close()
    return row


async def _load(
    scale: Scale, cluster: PrivatePostgres, visitors: list[LoadVisitor], row: Row
) -> dict[str, tuple[str, int]]:
    """Runs the load and the fault; returns what was acknowledged (client_msg_id ->
    conversation id and seq)."""
    tally = Tally()
    started = time.time()
    stop_at = started + scale.seconds
    restart_at = stop_at + down_seconds(scale)
    end_at = restart_at + scale.seconds
    until = end_at + DRAIN_SECONDS
    interval = 1.0 / scale.rate

    async def visitor_load(visitor: LoadVisitor) -> int:
        # Staggered so the chats do not all send in the same instant.
        first = started + interval * visitor.number / len(visitors)
        return await visitor.send_outbox(
            tally, first=first, interval=interval, end=end_at, until=until
        )

    async def fault() -> tuple[float, float]:
        await asyncio.sleep(max(0.0, stop_at - time.time()))
        await cluster.stop("immediate")
        stopped = time.time()
        await asyncio.sleep(max(0.0, restart_at - time.time()))
        return stopped, await cluster.start()

    load = asyncio.gather(*(visitor_load(v) for v in visitors))
    (stopped, back), outcomes = await asyncio.gather(fault(), load)
    row.acked = len(tally.acked)
    row.duplicated += tally.ack_changed
    unacked = sum(outcomes)
    # Recovered: every visitor has had a send acknowledged since PostgreSQL was back.
    firsts = []
    for visitor in visitors:
        after = [
            at
            for msg_id, at in tally.acked_at.items()
            if at >= back and msg_id.startswith(f"v{visitor.number}-")
        ]
        firsts.append(min(after) if after else None)
    if all(first is not None for first in firsts):
        row.recovery_s = max(first for first in firsts if first is not None) - back
    row.notes.update(
        sent=tally.attempts,
        unavailable=tally.codes.pop("unavailable", 0),
        internal=tally.codes.pop("internal", 0),
        other_errors=dict(tally.codes) or 0,
        timeouts=tally.timeouts,
        slowest_answer_s=round(tally.slowest, 2),
        unacked=unacked,
        down_s=round(back - stopped, 2),
    )
    return tally.acked


async def _count_stored(database: Database, acked: dict[str, tuple[str, int]], row: Row) -> None:
    """Lost: acknowledged and not stored (or stored under another seq); duplicated: a
    message text stored more than once."""
    async with database.begin() as connection:
        result = await connection.execute(
            text(
                "SELECT conversation_id, client_msg_id, seq, text FROM conversation_events "
                "WHERE sender_kind = 'visitor' AND client_msg_id IS NOT NULL"
            )
        )
        rows = result.all()
    stored: dict[str, tuple[str, int]] = {}
    texts: dict[str, int] = {}
    for conversation_id, client_msg_id, seq, body in rows:
        stored[client_msg_id] = (conversation_id, seq)
        texts[body] = texts.get(body, 0) + 1
    row.lost = sum(1 for msg_id, where in acked.items() if stored.get(msg_id) != where)
    row.duplicated += sum(count - 1 for count in texts.values() if count > 1)


SCENARIO = Scenario(
    name="postgres-restart",
    what="PostgreSQL stopped (immediate) under load and started again",
    run=run,
)
