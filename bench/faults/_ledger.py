"""Checking a run: what each side was acknowledged against what was stored and what
the other side received.

- A visitor's message counts as acknowledged when its ``message.send`` ack was ok; an
  agent's when the engine sent its receipt (XEP-0184: sent once the message is stored).
- Lost: acknowledged, and not stored, or never received by the other side (a visitor's
  message by an agent, as a stanza with the message's text; an agent's message by the
  visitor, live or through ``sync``).
- Duplicated: one message stored twice (the same ``client_msg_id``, or the same text:
  every text of a run is unique), or shown twice to the visitor (the same text under two
  ``seq``), or shown twice to an agent (the same text in two stanzas of different ids).
- Re-sent (not a duplicate: an XMPP client shows a stanza id once): a stanza an agent
  received again with the same id, which the delivery barrier allows after a crash.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

from bench._common import Json
from bench.faults._table import Row

VISITOR_PREFIX = "fv "
AGENT_PREFIX = "fa "


class StoredMessage(NamedTuple):
    conversation_id: str
    seq: int | None
    client_msg_id: str | None
    sender_kind: str | None
    text: str | None


@dataclass
class Outcome:
    acked: int = 0
    lost: int = 0
    duplicated: int = 0
    resent: int = 0
    """Stanzas agents received again with the same id."""
    seq_repeats: int = 0
    """Events a visitor received again under a ``seq`` it had (a client renders it once)."""
    unconfirmed: int = 0
    """Messages never acknowledged to their sender (not counted as lost)."""
    skipped: int = 0
    """Turns a sender skipped while too many of its messages were unacknowledged."""
    details: dict[str, int] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    """Error acks the visitors got (``unavailable`` while the engine starts, ...)."""

    def add(self, what: str, count: int = 1) -> None:
        if count:
            self.details[what] = self.details.get(what, 0) + count

    def fill(self, row: Row, problems: list[str], **notes: object) -> Row:
        """``row`` with these counts, ``notes`` (the scenario's own figures) and the
        ledger's, the visitors' error acks and the rig's ``problems``."""
        row.acked, row.lost, row.duplicated = self.acked, self.lost, self.duplicated
        row.notes = {
            **notes,
            "resent": self.resent,
            "seq_repeats": self.seq_repeats,
            "unconfirmed": self.unconfirmed,
            "skipped": self.skipped,
            **self.details,
        }
        if self.errors:
            row.notes["visitor_errors"] = dict(self.errors)
        if problems:
            row.notes["problems"] = "; ".join(problems)
        return row


def check(visitors: list[Json], agents: list[Json], stored: list[StoredMessage]) -> Outcome:
    out = Outcome()
    by_id = {(m.conversation_id, m.client_msg_id) for m in stored if m.client_msg_id}
    ids = Counter((m.conversation_id, m.client_msg_id) for m in stored if m.client_msg_id)
    texts = Counter(
        (m.conversation_id, m.text)
        for m in stored
        if m.text and m.text.startswith((VISITOR_PREFIX, AGENT_PREFIX))
    )
    out.add("stored twice (client_msg_id)", sum(n - 1 for n in ids.values() if n > 1))
    out.add("stored twice (text)", sum(n - 1 for n in texts.values() if n > 1))

    # What the agents received, per conversation JID's id.
    to_agents: dict[str, set[str]] = {}
    for agent in agents:
        stanzas: Counter[str] = Counter()
        bodies: Counter[tuple[str, str]] = Counter()
        for sender, stanza_id, body in agent["received"]:
            conversation = sender.split("@", 1)[0].removeprefix("c-")
            to_agents.setdefault(conversation, set()).add(body)
            if body.startswith(VISITOR_PREFIX):
                stanzas[stanza_id] += 1
                if stanzas[stanza_id] == 1:
                    bodies[(conversation, body)] += 1
        out.resent += sum(n - 1 for n in stanzas.values() if n > 1)
        out.add("shown twice to an agent", sum(n - 1 for n in bodies.values() if n > 1))

    out.skipped = sum(int(x.get("skipped", 0)) for x in (*visitors, *agents))
    for visitor in visitors:
        conversation = visitor["conversation_id"]
        delivered = to_agents.get(conversation, set())
        for client_msg_id, (_seq, text) in visitor["acked"].items():
            out.acked += 1
            if (conversation, client_msg_id) not in by_id:
                out.add("visitor's acked, not stored")
            elif text not in delivered:
                out.add("visitor's acked, never reached an agent")
        out.unconfirmed += len(visitor["pending"])
        out.errors.update(visitor["errors"])
        seen = visitor["seen"].values()
        out.seq_repeats += sum(entry[4] - 1 for entry in seen)
        shown = Counter(entry[2] for entry in seen if entry[0] == "message" and entry[2])
        out.add("shown twice to the visitor", sum(n - 1 for n in shown.values() if n > 1))

    shown_to: dict[str, set[str]] = {
        v["conversation_id"]: {e[2] for e in v["seen"].values() if e[0] == "message"}
        for v in visitors
    }
    for agent in agents:
        receipted = set(agent["receipted"])
        for stanza_id, (to, body) in agent["sent"].items():
            if stanza_id not in receipted:
                out.unconfirmed += 1
                continue
            out.acked += 1
            conversation = to.split("@", 1)[0].removeprefix("c-")
            if (conversation, f"xmpp:{stanza_id}") not in by_id:
                out.add("agent's receipted, not stored")
            elif body not in shown_to.get(conversation, set()):
                out.add("agent's receipted, never shown to the visitor")

    lost_kinds = ("not stored", "never reached", "never shown")
    out.lost = sum(n for k, n in out.details.items() if any(s in k for s in lost_kinds))
    out.duplicated = sum(n for k, n in out.details.items() if "twice" in k)
    return out
