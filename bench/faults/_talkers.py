"""Talking agents for the fault scenarios: ``bench._agents``' echo agents that also
talk, keep a ledger and log in again when their server goes away.

Configuration on the first stdin line (JSON): ``host``, ``port``, ``agents``
(``[{"jid", "password"}]``) and ``rate`` (messages per second per chat). Each agent
records every message stanza it receives (conversation, stanza id, body). Once it has
heard from a conversation (``c-<id>@<component>``) and ``talk`` is on, it sends
``fa <agent number> <n>`` to it at ``rate`` with the stanza id ``fa-<conversation>-<n>``
and asks for a receipt (XEP-0184): the engine sends one once the message is stored,
which is what counts as accepted. While ``IN_FLIGHT`` of its messages to a chat have
neither a receipt nor an error, it skips its turn there. When the connection drops
the agent logs in again every ``RELOGIN_DELAY`` seconds.

Commands: ``subscribe`` (as in ``bench._agents``), ``talk`` (``on``: true or false),
``resend`` (each message without a receipt and no longer awaited again, with the same
stanza id), ``unsettled`` (how many have no receipt, and how many are awaited), ``status``
(who is online, when each last logged in) and ``ledger`` (everything sent and
received), ``stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from bench._agents import EchoAgent
from bench._common import Commands, read_config, report, run

RECEIPTS = "urn:xmpp:receipts"
RELOGIN_DELAY = 0.5
IN_FLIGHT = 4
"""Messages to one chat without a receipt or an error before the agent skips a turn."""
GIVE_UP = 10.0
"""Seconds after which a message with neither is no longer waited for (resent later)."""


class TalkingAgent(EchoAgent):
    def __init__(self, jid: str, password: str, rate: float) -> None:
        super().__init__(jid, password)
        self.rate = rate
        self.short = jid.split("@", 1)[0].rsplit("-", 1)[-1]
        self.talking = False
        self.stopping = False
        self.online = False
        self.host = ""
        self.port = 0
        self.received: list[tuple[str, str, str]] = []
        """(conversation, stanza id, body) of every message received."""
        self.received_at: dict[str, float] = {}
        """body -> when it first arrived (wall clock), to measure delays."""
        self.sent: dict[str, tuple[str, str]] = {}
        """stanza id -> (conversation JID, body) of every message this agent sent."""
        self.receipted: set[str] = set()
        self.bounced: set[str] = set()
        self.errors: Counter[str] = Counter()
        """The errors that came back for sent messages, by their conditions."""
        self.logins: list[float] = []
        self.skipped = 0
        self._open: dict[str, dict[str, float]] = {}
        """Per conversation JID: the stanza ids sent and neither receipted nor bounced,
        with when (a stanza a dying server took along is given up after ``GIVE_UP``)."""
        self._talks: dict[str, asyncio.Task[None]] = {}
        self._relogin: asyncio.Task[None] | None = None
        self.client.add_event_handler("session_start", self._on_session)
        self.client.add_event_handler("disconnected", self._on_disconnected)

    async def login(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        await self.connect(host, port, archive=False)

    def _on_session(self, _: object) -> None:
        self.online = True
        self.logins.append(time.time())

    def _on_disconnected(self, _: object) -> None:
        self.online = False
        if not self.stopping and self._relogin is None:
            self._relogin = asyncio.get_running_loop().create_task(self._log_in_again())

    async def _log_in_again(self) -> None:
        try:
            while not self.stopping and not self.online:
                await asyncio.sleep(RELOGIN_DELAY)
                if self.online:
                    break
                self.client.connect(host=self.host, port=self.port)
                for _ in range(40):
                    await asyncio.sleep(0.1)
                    if self.online:
                        break
                else:
                    self.client.abort()
        finally:
            self._relogin = None

    def _on_message(self, msg: Any) -> None:
        xml = msg.xml
        stanza_id = str(msg["id"] or "")
        if msg["type"] == "error":
            self.bounced.add(stanza_id)
            self._settled(stanza_id)
            error = xml.find("{jabber:client}error")
            if error is not None:
                self.errors[" ".join(e.tag.rpartition("}")[2] for e in error)[:80]] += 1
            return
        receipt = xml.find(f"{{{RECEIPTS}}}received")
        if receipt is not None:
            self.receipted.add(str(receipt.get("id") or ""))
            self._settled(str(receipt.get("id") or ""))
            return
        body = str(msg["body"] or "")
        sender = msg["from"].bare
        if not body:
            return
        self.received.append((sender, stanza_id, body))
        self.received_at.setdefault(body, time.time())
        if sender.startswith("c-") and sender not in self._talks:
            self._talks[sender] = asyncio.get_running_loop().create_task(self._talk(sender))

    async def _talk(self, to: str) -> None:
        interval = 1.0 / self.rate
        conversation = to.split("@", 1)[0].removeprefix("c-")
        await asyncio.sleep(random.uniform(0, interval))
        number = 0
        next_at = time.monotonic()
        while not self.stopping:
            if self.talking and self.online and self._in_flight(to) >= IN_FLIGHT:
                self.skipped += 1
            elif self.talking and self.online:
                number += 1
                stanza_id = f"fa-{conversation}-{number}"
                # No digits of the conversation id: runs of them can look like a card
                # or phone number, which the engine redacts before storing.
                body = f"fa {self.short} {number}"
                self.sent[stanza_id] = (to, body)
                self._send(stanza_id, to, body)
            next_at = max(next_at + interval, time.monotonic())
            await asyncio.sleep(next_at - time.monotonic())

    def _in_flight(self, to: str) -> int:
        waiting = self._open.get(to, {})
        old = time.monotonic() - GIVE_UP
        for stanza_id in [i for i, t in waiting.items() if t < old]:
            del waiting[stanza_id]
        return len(waiting)

    def _settled(self, stanza_id: str) -> None:
        sent = self.sent.get(stanza_id)
        if sent is not None:
            self._open.get(sent[0], {}).pop(stanza_id, None)

    def _send(self, stanza_id: str, to: str, body: str) -> None:
        self._open.setdefault(to, {})[stanza_id] = time.monotonic()
        message = self.client.make_message(mto=to, mbody=body, mtype="chat")
        message["id"] = stanza_id
        message.xml.append(ET.Element(f"{{{RECEIPTS}}}request"))
        message.send()

    def unsettled(self) -> tuple[int, int]:
        """(messages without a receipt, of which still awaited)."""
        waiting = sum(self._in_flight(to) for to in self._open)
        return sum(1 for i in self.sent if i not in self.receipted), waiting

    def resend(self) -> int:
        """Every message without a receipt and no longer awaited again, same stanza id."""
        waiting = {i for w in self._open.values() for i in w}
        again = [
            (i, to, body)
            for i, (to, body) in self.sent.items()
            if i not in self.receipted and i not in waiting
        ]
        if self.online:
            for stanza_id, to, body in again:
                self._send(stanza_id, to, body)
        return len(again)

    def ledger(self) -> dict[str, object]:
        return {
            "jid": self.jid,
            "received": self.received,
            "received_at": self.received_at,
            "sent": {i: list(v) for i, v in self.sent.items()},
            "receipted": sorted(self.receipted),
            "bounced": sorted(self.bounced),
            "errors": dict(self.errors),
            "logins": self.logins,
            "skipped": self.skipped,
        }

    async def disconnect(self) -> None:
        self.stopping = True
        for task in self._talks.values():
            task.cancel()
        await super().disconnect()


async def main() -> None:
    config = read_config()
    commands = Commands()
    rate = float(config["rate"])
    agents = [TalkingAgent(a["jid"], a["password"], rate) for a in config["agents"]]
    host, port = str(config["host"]), int(config["port"])
    await asyncio.gather(*(a.login(host, port) for a in agents))
    report("ready", agents=len(agents))
    try:
        while True:
            command = await commands.next()
            match command.get("cmd"):
                case "subscribe":
                    for agent in agents:
                        agent.subscribe(str(command["to"]))
                    report("subscribed")
                case "talk":
                    for agent in agents:
                        agent.talking = bool(command["on"])
                    report("talking", on=bool(command["on"]))
                case "resend":
                    report("resent", count=sum(a.resend() for a in agents))
                case "unsettled":
                    counts = [a.unsettled() for a in agents]
                    report(
                        "unsettled",
                        unreceipted=sum(c[0] for c in counts),
                        waiting=sum(c[1] for c in counts),
                    )
                case "status":
                    report(
                        "status",
                        online=sum(1 for a in agents if a.online),
                        logins={a.jid: a.logins for a in agents},
                    )
                case "ledger":
                    report("ledger", agents=[a.ledger() for a in agents])
                case "stop":
                    break
    finally:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(a.disconnect() for a in agents))
    report("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    run(main())
