"""Network faults on both links of the engine, under load.

``scale.chats`` visitors, each in a conversation with an agent, send ``scale.rate``
messages a second and their agents as many back, while a ``FaultProxy`` on the link
between the engine's component and Prosody, then on the links between the visitors and
the engine, in turn adds latency, caps the bandwidth, stalls and resets. Then the load
stops, what is unacked is sent again, and the ledgers are checked against what the engine
stored (``bench.faults._net_ledger``): nothing acknowledged lost, nothing stored or shown
twice, every visitor whole again.

``recovery`` is the longest a visitor took, after the reset of its connection, to be
connected and synced again. Notes: ``relink_s``, from the reset of the component link
until the engine's component was connected again; ``resent_to_agents``, stanzas agents
got a second time with the same id (what the engine re-sends after the component link
broke); ``shown_again``, events a visitor received for a seq it had rendered (live
pushes overlapping its resync; rendered once); ``agent_unconfirmed``, agent messages
without a receipt (in flight when a link broke: the agent never saw them acknowledged),
``of_which_stored`` those the engine stored all the same (its receipt was what got
lost); ``agent_bounced``, those Prosody returned because the component was away;
``cursors_behind``, events the engine had still to deliver to agents at the end (an
acked visitor message not at its agent by then counts as lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bench.faults._net_ledger import check, missing_at_agents
from bench.faults._net_visitors import Chat
from bench.faults._proxy import FaultProxy
from bench.faults._stack import Stack, stack
from bench.faults._table import Row, Scale, Scenario

logger = logging.getLogger(__name__)

LATENCY = 0.2
"""Seconds added each way."""
STANZA_BYTES = 700
"""About what one chat message takes on the component link (stanza and framing)."""
EVENT_BYTES = 600
"""About what one message takes on a visitor's link (its event, an ack, framing)."""
SETTLE = 30.0
"""The most the run waits, after the load, for acks, resyncs and agents to catch up."""
OPEN_CONCURRENCY = 25


async def _until(condition: Callable[[], bool], limit: float) -> float | None:
    """Seconds until ``condition`` held (polled), None if it did not within ``limit``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            return None
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def open_chats(s: Stack, scale: Scale, prefix: str) -> list[Chat]:
    chats = [Chat(f"{prefix}{n}", s.url, s.http) for n in range(scale.chats)]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(chat: Chat) -> None:
        async with gate:
            await chat.open()

    await asyncio.gather(*(one(chat) for chat in chats))
    known = await _until(lambda: sum(len(a.conversations()) for a in s.agents) >= scale.chats, 30)
    if known is None:
        raise RuntimeError("the agents did not hear of every conversation within 30 s")
    return chats


async def settle(chats: list[Chat], s: Stack) -> None:
    """After the load: every visitor connected and synced, unacked messages sent again,
    every acked visitor message at an agent (the engine re-sends), receipts in."""
    deadline = time.monotonic() + SETTLE
    await _until(lambda: all(chat.up.is_set() for chat in chats), SETTLE)
    await asyncio.gather(*(chat.flush(deadline) for chat in chats))
    await _until(lambda: missing_at_agents(chats, s.agents) == 0, deadline - time.monotonic())
    # Receipts and the last pushes: until nothing changes for a second.
    last = -1
    while time.monotonic() < deadline:
        now = sum(len(a.receipts) for a in s.agents) + sum(len(c.rendered) for c in chats)
        if now == last:
            break
        last = now
        await asyncio.sleep(1.0)


async def run(scale: Scale, work: Path) -> Row:
    phase = scale.seconds / 3
    gap = phase / 2
    row = Row(fault="network: latency, cap, stall, reset", scale=scale.name)
    async with stack(work, chats=scale.chats) as s:
        chats = await open_chats(s, scale, "nv")
        keepers = [asyncio.create_task(chat.keep_connected()) for chat in chats]
        links = (
            ("component", s.xmpp, scale.chats * scale.rate * STANZA_BYTES / 4),
            ("visitor", s.web, scale.rate * EVENT_BYTES / 2),
        )
        # Long enough for every fault; the talkers stop on their own at the end.
        total = phase + len(links) * (3 * (phase + gap) + phase)
        until = time.monotonic() + total
        talkers = [asyncio.create_task(chat.talk(scale.rate, until)) for chat in chats]
        talkers += [asyncio.create_task(a.talk(scale.rate, until)) for a in s.agents]
        try:
            await asyncio.sleep(phase)  # the load alone first
            for link, proxy, cap in links:
                for name, apply in (
                    ("latency", _latency(proxy, phase)),
                    ("bandwidth", _bandwidth(proxy, cap, phase)),
                    ("stall", _stall(proxy, phase)),
                ):
                    print(f"   {link} link: {name}", flush=True)
                    await apply
                    await asyncio.sleep(gap)
                print(f"   {link} link: reset", flush=True)
                reset_at = time.monotonic()
                if link == "component":
                    row.notes["relink_s"] = await _reset_component(proxy)
                else:
                    row.recovery_s = await _reset_visitors(proxy, chats)
                await asyncio.sleep(max(0.0, phase - (time.monotonic() - reset_at)))
            await asyncio.gather(*talkers)
            await settle(chats, s)
            tally = await check(chats, s.agents)
            row.notes["cursors_behind"] = await s.cursors_behind()
        finally:
            for task in talkers:
                task.cancel()
            for chat in chats:
                await chat.close()
            await asyncio.gather(*keepers, return_exceptions=True)
        row.acked, row.lost, row.duplicated = tally.acked, tally.lost, tally.duplicated
        row.notes.update(tally.notes)
        row.notes["caps_Bps"] = f"{links[0][2]:.0f}/{links[1][2]:.0f}"
        row.notes["engine_rss_mb"] = round(s.engine_rss_kb() / 1024, 1)
        for problem in tally.problems:
            print(f"   ! {problem}", flush=True)
    return row


async def _reset_component(proxy: FaultProxy) -> float | None:
    """Reset the component link; seconds until the engine's component connected again."""
    before = proxy.counters.connections
    proxy.reset()
    relink = await _until(lambda: proxy.counters.connections > before, 60)
    return None if relink is None else round(relink, 2)


async def _reset_visitors(proxy: FaultProxy, chats: list[Chat]) -> float | None:
    """Reset every visitor's link; the longest any took to be connected and synced."""
    proxy.reset()
    await asyncio.sleep(0.05)
    if await _until(lambda: all(c.up.is_set() for c in chats), 60) is None:
        return None
    return max((c.outages[-1] for c in chats if c.outages), default=None)


async def _latency(proxy: FaultProxy, phase: float) -> None:
    proxy.set_latency(LATENCY)
    await asyncio.sleep(phase)
    proxy.clear()


async def _bandwidth(proxy: FaultProxy, cap: float, phase: float) -> None:
    proxy.set_bandwidth(cap)
    await asyncio.sleep(phase)
    proxy.clear()


async def _stall(proxy: FaultProxy, phase: float) -> None:
    proxy.stall(phase)
    await asyncio.sleep(phase)


SCENARIO = Scenario(
    name="network",
    what="latency, a bandwidth cap, a stall and a reset on the component link, then on "
    "the visitors' links, under load",
    run=run,
)
