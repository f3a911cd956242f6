"""Agents that keep a ledger: ``tests/e2e/agent.py``'s ``ScriptedAgent`` (a real slixmpp
client on Prosody, recording every message with its stanza id), talking at a rate to
each conversation they are given and asking for XEP-0184 receipts, which the engine
sends only once the message is stored: a receipted message is the agent side's
"acknowledged"."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any
from xml.etree import ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tests.e2e.agent import RECEIPTS, ScriptedAgent

VISITOR_PREFIX = "v "
AGENT_PREFIX = "a "


class LedgerAgent(ScriptedAgent):
    def __init__(self, jid: str, password: str, *, host: str, port: int, label: str) -> None:
        super().__init__(jid, password, host=host, port=port)
        self.label = label
        self.sent: dict[str, tuple[str, str]] = {}
        """Stanza id -> (conversation JID, text), for every message sent."""
        self.sent_at: dict[str, float] = {}
        """Text -> ``time.monotonic()`` when it was sent."""
        self.receipts: set[str] = set()
        """Stanza ids the engine confirmed as stored."""

    async def connect(self, *, show: str | None = None, timeout: float = 20) -> None:
        await super().connect(show=show, timeout=timeout)
        self._client.register_handler(
            Callback(
                "receipts",
                MatchXPath(f"{{jabber:client}}message/{{{RECEIPTS}}}received"),
                self._on_receipt,
            )
        )

    def _on_receipt(self, msg: Any) -> None:
        received = msg.xml.find(f"{{{RECEIPTS}}}received")
        self.receipts.add(str(received.get("id", "")))

    def conversations(self) -> set[str]:
        """Conversation JIDs (``c-<id>@component``) this agent has heard from."""
        return {m.from_jid for m in self.received if m.from_jid.startswith("c-")}

    def send_tracked(self, to: str, text: str, msg_id: str) -> None:
        msg = self._client.make_message(mto=to, mbody=text, mtype="chat")
        msg["id"] = msg_id
        msg.xml.append(ET.Element(f"{{{RECEIPTS}}}request"))
        self.sent[msg_id] = (to, text)
        self.sent_at[text] = time.monotonic()
        msg.send()

    async def talk(self, rate: float, until: float) -> None:
        """``rate`` messages a second (Poisson) to each conversation, until ``until``."""
        loops: dict[str, asyncio.Task[None]] = {}
        try:
            while time.monotonic() < until:
                for jid in sorted(self.conversations() - loops.keys()):
                    chat = f"k{len(loops) + 1}"
                    loops[jid] = asyncio.create_task(self._talk_to(jid, chat, rate, until))
                await asyncio.sleep(0.5)
            await asyncio.gather(*loops.values())
        finally:
            for task in loops.values():
                task.cancel()

    async def _talk_to(self, jid: str, chat: str, rate: float, until: float) -> None:
        """Texts name the agent and ``chat``, never the conversation id: a hex id is
        sometimes masked as an IBAN (two letters, two digits, mod 97 holds by chance)."""
        number = 0
        while True:
            await asyncio.sleep(random.expovariate(rate))
            if time.monotonic() >= until:
                return
            number += 1
            msg_id = f"{self.label}-{chat}-{number}"
            self.send_tracked(jid, f"{AGENT_PREFIX}{self.label} {chat} {number}", msg_id)

    # -- what arrived ---------------------------------------------------------------------

    def visitor_messages(self) -> list[tuple[str, str]]:
        """(stanza id, text) of every visitor message received, copies included."""
        return [
            (m.id, m.body)
            for m in self.received
            if m.error is None and m.body.startswith(VISITOR_PREFIX)
        ]

    def bounced(self) -> int:
        """Own messages the server returned as errors (the component was away)."""
        return sum(1 for m in self.received if m.error is not None)


def agent_figures(agents: list[LedgerAgent]) -> tuple[Counter[str], Counter[str]]:
    """(copies of each stanza id, copies of each visitor text) over all agents."""
    by_id: Counter[str] = Counter()
    by_text: Counter[str] = Counter()
    for agent in agents:
        for stanza_id, text in agent.visitor_messages():
            by_id[stanza_id] += 1
            by_text[text] += 1
    return by_id, by_text
