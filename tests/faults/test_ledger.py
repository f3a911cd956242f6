"""The fault rig's bookkeeping: what it calls lost, duplicated and re-sent."""

from __future__ import annotations

from bench._common import Json
from bench.faults._ledger import StoredMessage, check

CONV = "c1"
JID = f"c-{CONV}@chat.localhost"


def visitor(acked: dict[str, tuple[int, str]], seen: dict[int, list[object]]) -> Json:
    return {
        "conversation_id": CONV,
        "acked": acked,
        "pending": {},
        "errors": {},
        "seen": {str(seq): entry for seq, entry in seen.items()},
    }


def agent(received: list[tuple[str, str, str]], sent: dict[str, str], receipted: list[str]) -> Json:
    return {
        "jid": "a1@localhost",
        "received": [list(r) for r in received],
        "sent": {i: [JID, body] for i, body in sent.items()},
        "receipted": receipted,
    }


def stored(seq: int, client_msg_id: str, kind: str, text: str) -> StoredMessage:
    return StoredMessage(CONV, seq, client_msg_id, kind, text)


def test_a_whole_run_counts_nothing_lost_or_duplicated() -> None:
    outcome = check(
        [
            visitor(
                {"v-1": (1, "fv v 1")},
                {
                    1: ["message", "visitor", "fv v 1", "v-1", 1],
                    2: ["message", "agent", "fa 1 1", None, 2],
                },
            )
        ],
        [agent([(JID, "m1", "fv v 1"), (JID, "m1", "fv v 1")], {"fa-c1-1": "fa 1 1"}, ["fa-c1-1"])],
        [stored(1, "v-1", "visitor", "fv v 1"), stored(2, "xmpp:fa-c1-1", "agent", "fa 1 1")],
    )
    assert (outcome.acked, outcome.lost, outcome.duplicated) == (2, 0, 0)
    assert outcome.resent == 1  # the same stanza id twice: re-sent, not duplicated
    assert outcome.seq_repeats == 1


def test_acknowledged_and_not_stored_or_not_delivered_is_lost() -> None:
    outcome = check(
        [visitor({"v-1": (1, "fv v 1"), "v-2": (2, "fv v 2")}, {})],
        [agent([(JID, "m1", "fv v 1")], {"fa-c1-1": "fa 1 1", "fa-c1-2": "fa 1 2"}, ["fa-c1-1"])],
        [stored(1, "v-1", "visitor", "fv v 1"), stored(3, "xmpp:fa-c1-1", "agent", "fa 1 1")],
    )
    assert outcome.details == {
        "visitor's acked, not stored": 1,
        "agent's receipted, never shown to the visitor": 1,
    }
    assert outcome.lost == 2
    assert outcome.unconfirmed == 1  # fa-c1-2 had no receipt: not acknowledged, not lost


def test_stored_twice_or_shown_twice_is_duplicated() -> None:
    outcome = check(
        [
            visitor(
                {"v-1": (1, "fv v 1")},
                {
                    1: ["message", "visitor", "fv v 1", "v-1", 1],
                    2: ["message", "visitor", "fv v 1", "v-1", 1],
                },
            )
        ],
        [agent([(JID, "m1", "fv v 1"), (JID, "m2", "fv v 1")], {}, [])],
        [stored(1, "v-1", "visitor", "fv v 1"), stored(2, "v-1b", "visitor", "fv v 1")],
    )
    assert outcome.details == {
        "stored twice (text)": 1,
        "shown twice to an agent": 1,
        "shown twice to the visitor": 1,
    }
    assert outcome.duplicated == 3
    assert outcome.lost == 0
