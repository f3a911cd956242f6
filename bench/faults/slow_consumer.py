"""A visitor that stops reading while its agent floods it, among chats running at rate.

``scale.chats - 1`` chats talk both ways at ``scale.rate`` (through the web proxy, with
no fault on it), in three windows of ``scale.seconds``: alone (the baseline); while one
more visitor's agent sends it ``FLOOD_RATE`` messages of ``FLOOD_TEXT`` characters a
second and that visitor reads them (the control: what the flood itself costs the
engine); and while the same flood goes to the same visitor come back on a raw WebSocket
that never reads, with a 4 KiB receive buffer
(``tests/presentation/raw_engineio.StalledWebSocket``, straight to the engine's port: a
proxy would read for it). The engine must disconnect it once its unsent output passes
the bound (``http.max_queued_packets``, ``presentation/output_bound.py``); the client
notices when its next write fails. The same visitor then reconnects on an ordinary link
and syncs, and the ledgers are checked as in ``network``: nothing acknowledged lost,
nothing stored or shown twice (the flood included).

Notes: ``p99_ack_ms`` (a visitor's ``message.send`` to its ack) and ``p99_push_ms`` (an
agent's message sent to shown to the visitor; ``p50_push_ms`` its median) of the other
chats, baseline / control / with the slow consumer; ``cut_off_s``, from the first flood
message to the slow socket until it was found cut off; ``flood_sent``, what its agent
had sent it by then; the engine's resident memory before, at most, and after the flood
(MB). ``recovery`` is the slow visitor's reconnect and resync.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from bench._common import percentile
from bench.faults._desk import AGENT_PREFIX, LedgerAgent
from bench.faults._net_ledger import check
from bench.faults._net_visitors import Chat
from bench.faults._stack import Stack, stack
from bench.faults._table import Row, Scale, Scenario
from bench.faults.network import open_chats, settle
from tests.presentation.raw_engineio import StalledWebSocket, connect_packet, event_packet

FLOOD_RATE = 100.0
"""Messages a second the slow visitor's agent sends."""
FLOOD_TEXT = 3900
"""Characters in each (the default ``limits.max_text_length`` is 4,000)."""
FLOOD_WINDOW = 20
"""Flood messages that may be on their way unreceipted."""
FLOOD_BURST = 5
"""Sent together, so the rate holds despite the event loop's timer granularity."""
CUT_OFF_LIMIT = 60.0
"""The most the run waits for the engine to cut the slow consumer off."""


def _p99_ms(samples: list[float]) -> float:
    return round(percentile(sorted(samples), 0.99) * 1000, 1)


def _window(
    chats: list[Chat], agents: list[LedgerAgent], start: float, end: float
) -> dict[str, float]:
    """p99 of the acks and of the agents' pushes to the ``chats`` sent in [start, end)."""
    acks = [seconds for chat in chats for sent, seconds in chat.acks if start <= sent < end]
    sent_at = {text: at for agent in agents for text, at in agent.sent_at.items()}
    pushes = [
        arrived - sent_at[text]
        for chat in chats
        for text, arrived in chat.arrived.items()
        if text in sent_at and start <= sent_at[text] < end
    ]
    return {
        "ack": _p99_ms(acks),
        "push": _p99_ms(pushes),
        "push50": round(percentile(sorted(pushes), 0.5) * 1000, 1),
    }


class Flood:
    """The slow visitor's agent sending up to ``FLOOD_RATE`` messages a second, with at
    most ``FLOOD_WINDOW`` not yet receipted: as fast as the engine stores them, so the
    flood fills the slow visitor's output without queueing every other agent's
    messages behind it on the component link (that would measure the engine's intake,
    not the slow consumer)."""

    def __init__(self, agent: LedgerAgent, jid: str) -> None:
        self.agent = agent
        self.jid = jid
        self.sent = 0
        self.before = 0
        """``sent`` when this run began."""
        self.started = 0.0
        self._ids: list[tuple[str, float]] = []

    def _waiting(self) -> int:
        """Recent flood messages without a receipt; one unanswered for 5 s (lost with a
        dropped link) no longer holds the flood up."""
        receipts, recent = self.agent.receipts, time.monotonic() - 5.0
        return sum(
            1
            for msg_id, at in self._ids[-2 * FLOOD_WINDOW :]
            if at > recent and msg_id not in receipts
        )

    async def run(self) -> None:
        padding = "x" * FLOOD_TEXT
        self.started = time.monotonic()
        self.before = self.sent
        while True:
            if self._waiting() >= FLOOD_WINDOW:
                await asyncio.sleep(0.01)  # receipts come as messages: polled
                continue
            for _ in range(FLOOD_BURST):
                self.sent += 1
                text = f"{AGENT_PREFIX}{self.agent.label} flood {self.sent} {padding}"
                msg_id = f"{self.agent.label}-flood-{self.sent}"
                self._ids.append((msg_id, time.monotonic()))
                self.agent.send_tracked(self.jid, text, msg_id)
            await asyncio.sleep(FLOOD_BURST / FLOOD_RATE)


async def cut_off(ws: StalledWebSocket, conversation_id: str) -> None:
    """Returns once a write fails: the engine has cut this client off. It writes a
    ``typing`` event every tenth of a second, never reading the answers."""
    number = 0
    while True:
        number += 1
        payload = {"conversation_id": conversation_id, "state": "paused"}
        try:
            await ws.send(event_packet(number, "typing", payload))
        except (ConnectionError, OSError):
            return
        await asyncio.sleep(0.1)


async def run(scale: Scale, work: Path) -> Row:
    row = Row(fault="slow consumer", scale=scale.name)
    others_scale = replace(scale, chats=scale.chats - 1)
    async with stack(work, chats=scale.chats) as s:
        others = await open_chats(s, others_scale, "sv")
        slow = Chat("slow", f"http://127.0.0.1:{s.web.target_port}", s.http)
        await slow.open()
        known = {f"c-{chat.conversation_id}@" for chat in others}
        slow_jid, slow_agent = await _find(s, known)
        keepers = [asyncio.create_task(chat.keep_connected()) for chat in others]
        baseline_at = time.monotonic()
        until = baseline_at + 2 * scale.seconds + CUT_OFF_LIMIT
        talkers = [asyncio.create_task(chat.talk(scale.rate, until)) for chat in others]
        talkers += [asyncio.create_task(a.talk(scale.rate, until)) for a in s.agents]
        rss = {"before": s.engine_rss_kb(), "most": 0}
        sampler = asyncio.create_task(_sample_rss(s, rss))
        flooding: asyncio.Task[None] | None = None
        try:
            await asyncio.sleep(scale.seconds)
            without = _window(others, s.agents, baseline_at, time.monotonic())
            # The control: the same flood to the same visitor while it reads, so that
            # what the flood itself costs the engine is not put on the slow consumer.
            flood = Flood(slow_agent, slow_jid)
            flooding = asyncio.create_task(flood.run())
            control_at = time.monotonic()
            await asyncio.sleep(scale.seconds)
            flooding.cancel()
            reading = _window(others, s.agents, control_at, time.monotonic())
            # The slow visitor leaves its ordinary link and comes back on one it never reads.
            assert slow.link is not None
            await slow.link.ws.close()
            ws = await StalledWebSocket.open(slow.url)
            await ws.send(connect_packet({"tenant": "default", "visitor_token": slow.token}))
            flooding = asyncio.create_task(flood.run())
            with_at = time.monotonic()
            try:
                async with asyncio.timeout(CUT_OFF_LIMIT):
                    await cut_off(ws, slow.conversation_id)
                row.notes["cut_off_s"] = round(time.monotonic() - flood.started, 2)
            except TimeoutError:
                row.notes["cut_off_s"] = f">{CUT_OFF_LIMIT:g} (not cut off)"
                row.lost += 1  # counted as a failure of the scenario
            finally:
                ws.close()
            row.notes["flood_sent"] = flood.sent - flood.before
            # The flood goes on for the rest of the window: the others must not feel it.
            rest = scale.seconds - (time.monotonic() - with_at)
            await asyncio.sleep(max(0.0, rest))
            flooding.cancel()
            with_slow = _window(others, s.agents, with_at, time.monotonic())
            for task in talkers:
                task.cancel()
            rss["after_flood"] = s.engine_rss_kb()
            # It reconnects and resyncs like any other visitor.
            resync_at = time.monotonic()
            await slow.reconnect()
            row.recovery_s = time.monotonic() - resync_at
            slow.up.set()
            await settle([*others, slow], s)
            tally = await check([*others, slow], s.agents)
        finally:
            sampler.cancel()
            if flooding is not None:
                flooding.cancel()
            for task in talkers:
                task.cancel()
            for chat in [*others, slow]:
                await chat.close()
            await asyncio.gather(*keepers, return_exceptions=True)
        row.acked, row.lost, row.duplicated = tally.acked, row.lost + tally.lost, tally.duplicated
        row.notes["p99_ack_ms"] = f"{without['ack']}/{reading['ack']}/{with_slow['ack']}"
        row.notes["p99_push_ms"] = f"{without['push']}/{reading['push']}/{with_slow['push']}"
        row.notes["p50_push_ms"] = f"{without['push50']}/{reading['push50']}/{with_slow['push50']}"
        row.notes["engine_rss_mb"] = "/".join(
            f"{rss[k] / 1024:.0f}" for k in ("before", "most", "after_flood")
        )
        kept = ("problems", "resent_to_agents", "shown_again", "not_yet_shown")
        row.notes.update({k: v for k, v in tally.notes.items() if k in kept})
        for problem in tally.problems:
            print(f"   ! {problem}", flush=True)
    return row


async def _find(s: Stack, known: set[str]) -> tuple[str, LedgerAgent]:
    """The slow visitor's conversation JID and the agent who has it."""
    async with asyncio.timeout(30):
        while True:
            for agent in s.agents:
                for jid in agent.conversations():
                    if not any(jid.startswith(prefix) for prefix in known):
                        return jid, agent
            await asyncio.sleep(0.05)


async def _sample_rss(s: Stack, rss: dict[str, int]) -> None:
    while True:
        rss["most"] = max(rss["most"], s.engine_rss_kb())
        await asyncio.sleep(0.2)


SCENARIO = Scenario(
    name="slow-consumer",
    what="one visitor stops reading while its agent floods it; the others chat at rate",
    run=run,
)
