"""The delivery invariants, checked from the ledgers of visitors and agents against what
the engine stored (each conversation read back with ``sync`` from seq 0):

- every acknowledged message (a visitor's ``message.send`` ack, an agent's XEP-0184
  receipt) is stored, and shown to the other side: ``lost`` otherwise;
- no message is stored twice (one ``client_msg_id``, or one agent text, under two seqs):
  ``duplicated``;
- every visitor has rendered every stored event once it is whole again (after its
  resync): a hole (an event stored and not shown, older than one that was) is
  ``lost``; events newer than the last one shown may still be on their way and are
  counted as ``not_yet_shown``;
- an agent may get a stanza again with the same stanza id (the engine re-sends what the
  XMPP server did not confirm): counted as ``resent_to_agents``, not as a duplicate;
  the same visitor message under two stanza ids would be a duplicate.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench._common import Json
from bench.faults._desk import AGENT_PREFIX, LedgerAgent
from bench.faults._net_visitors import Chat

READ_BACK_CONCURRENCY = 20
"""Conversations read back at once: a busy engine must not time the reads out."""


@dataclass
class Tally:
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """The first few lost or duplicated messages, for the log."""
    kinds: Counter[str] = field(default_factory=Counter)
    """How many of each kind of problem."""

    def problem(self, text: str, kind: str) -> None:
        self.kinds[kind] += 1
        if len(self.problems) < 10:
            self.problems.append(text)


def _identity(event: Json) -> str | None:
    """What makes a stored message event one message: the visitor's client_msg_id, or
    the agent's text (each agent text in these scenarios is unique)."""
    if event.get("type") != "message":
        return None
    kind = event["from"]["kind"]
    if kind == "visitor":
        return f"visitor:{event.get('client_msg_id')}"
    if kind == "agent" and str(event.get("text", "")).startswith(AGENT_PREFIX):
        return f"agent:{event['text']}"
    return None


async def check(chats: list[Chat], agents: list[LedgerAgent]) -> Tally:
    tally = Tally()
    # What was acknowledged is taken before what was stored is read: a receipt that
    # arrives while the conversations are read back was stored after its sync.
    acked = {chat.name: list(chat.acked) for chat in chats}
    receipts = {agent.jid: set(agent.receipts) for agent in agents}
    rendered_up_to = {chat.name: max(chat.rendered, default=0) for chat in chats}
    not_yet_shown = 0
    gate = asyncio.Semaphore(READ_BACK_CONCURRENCY)

    async def read_back(chat: Chat) -> list[Json]:
        async with gate:
            return await chat.stored()

    stored_by_chat = await asyncio.gather(*(read_back(chat) for chat in chats))
    stored_texts: Counter[str] = Counter()
    for chat, stored in zip(chats, stored_by_chat, strict=True):
        seqs = [e["seq"] for e in stored]
        if seqs != list(range(1, len(seqs) + 1)):
            tally.lost += 1
            tally.problem(f"{chat.name}: stored seqs are not 1..n: {seqs[:20]}", "seq_gap")
        copies: Counter[str] = Counter(i for e in stored if (i := _identity(e)) is not None)
        for identity, count in copies.items():
            if count > 1:
                tally.duplicated += count - 1
                tally.problem(f"{chat.name}: {identity} stored {count} times", "stored_twice")
            if identity.startswith("agent:"):
                stored_texts[identity.removeprefix("agent:")] += count
        for client_msg_id in acked[chat.name]:
            tally.acked += 1
            if copies[f"visitor:{client_msg_id}"] == 0:
                tally.lost += 1
                tally.problem(f"{chat.name}: acked {client_msg_id} is not stored", "not_stored")
        # Whole again: every stored event up to the last one it rendered was rendered,
        # under the seq it is stored at (what is newer may still be on its way: an
        # engine still catching up goes on storing while this reads).
        for event in stored:
            shown = chat.rendered.get(event["seq"])
            if shown is None and event["seq"] > rendered_up_to[chat.name]:
                not_yet_shown += 1
            elif shown is None:
                tally.lost += 1
                tally.problem(f"{chat.name}: seq {event['seq']} stored, never shown", "hole")
            elif _identity(shown) != _identity(event):
                tally.duplicated += 1
                seq = event["seq"]
                tally.problem(f"{chat.name}: seq {seq} shown as another message", "shown_twice")

    # Agents' messages: a receipted one is stored (once, counted above).
    unconfirmed = unconfirmed_stored = 0
    for agent in agents:
        for msg_id, (_, text) in agent.sent.items():
            if msg_id in receipts[agent.jid]:
                tally.acked += 1
                if stored_texts[text] == 0:
                    tally.lost += 1
                    tally.problem(f"{agent.jid}: receipted {text!r} is not stored", "not_stored")
            else:
                unconfirmed += 1
                unconfirmed_stored += stored_texts[text] > 0

    # Visitors' messages at the agents: each acked one arrived, under one stanza id.
    ids_by_text: dict[str, set[str]] = defaultdict(set)
    copies_by_id: Counter[str] = Counter()
    for agent in agents:
        for stanza_id, text in agent.visitor_messages():
            ids_by_text[text].add(stanza_id)
            copies_by_id[stanza_id] += 1
    for chat in chats:
        for client_msg_id in acked[chat.name]:
            text = f"v {chat.name} {client_msg_id.rsplit('-', 1)[1]}"
            ids = ids_by_text.get(text, set())
            if not ids:
                tally.lost += 1
                tally.problem(f"{chat.name}: acked {text!r} never reached an agent", "not_at_agent")
            elif len(ids) > 1:
                tally.duplicated += len(ids) - 1
                tally.problem(f"{text!r} reached agents as {sorted(ids)}", "agent_twice")
    if tally.kinds:
        tally.notes["problems"] = "+".join(f"{n} {k}" for k, n in tally.kinds.most_common())
    tally.notes["resent_to_agents"] = sum(n - 1 for n in copies_by_id.values())
    tally.notes["shown_again"] = sum(chat.again for chat in chats)
    tally.notes["not_yet_shown"] = not_yet_shown
    tally.notes["visitor_retries"] = sum(chat.retries for chat in chats)
    tally.notes["reconnects"] = sum(chat.reconnects for chat in chats)
    tally.notes["agent_unconfirmed"] = unconfirmed
    tally.notes["of_which_stored"] = unconfirmed_stored
    tally.notes["agent_bounced"] = sum(agent.bounced() for agent in agents)
    return tally


def missing_at_agents(chats: list[Chat], agents: list[LedgerAgent]) -> int:
    """Acked visitor messages no agent has received yet."""
    arrived = {text for agent in agents for _, text in agent.visitor_messages()}
    return sum(
        1
        for chat in chats
        for client_msg_id in chat.acked
        if f"v {chat.name} {client_msg_id.rsplit('-', 1)[1]}" not in arrived
    )
