"""Availability from presence: per show value, and aggregated over an agent's resources."""

from __future__ import annotations

import pytest

from tests.xmpp_bridge.support import ALICE, BOB
from xmpp_bridge.custom import Show
from xmpp_bridge.presence import PresenceBook, is_ready


@pytest.mark.parametrize(
    ("show", "away_is_ready", "ready"),
    [
        (Show.AVAILABLE, False, True),
        (Show.CHAT, False, True),
        (Show.AWAY, False, False),
        (Show.AWAY, True, True),
        (Show.XA, True, False),
        (Show.DND, True, False),
        (None, True, False),
    ],
)
def test_which_show_values_mean_ready(show: Show | None, away_is_ready: bool, ready: bool) -> None:
    assert is_ready(show, away_is_ready=away_is_ready) is ready


def test_first_presence_is_always_reported() -> None:
    book = PresenceBook(away_is_ready=False)

    assert book.update(ALICE, "laptop", Show.XA) is False


def test_any_ready_resource_makes_the_agent_ready() -> None:
    book = PresenceBook(away_is_ready=False)
    book.update(ALICE, "laptop", Show.AVAILABLE)

    # The phone idling away does not hide the laptop that is online.
    assert book.update(ALICE, "phone", Show.AWAY) is None
    assert book.ready(ALICE)
    # Only when the laptop leaves too is the agent not ready.
    assert book.update(ALICE, "laptop", None) is False


def test_only_changes_are_reported() -> None:
    book = PresenceBook(away_is_ready=False)

    assert book.update(ALICE, "laptop", Show.AVAILABLE) is True
    assert book.update(ALICE, "laptop", Show.CHAT) is None
    assert book.update(ALICE, "laptop", Show.DND) is False
    assert book.update(ALICE, "laptop", Show.XA) is None
    assert book.update(ALICE, "laptop", Show.AVAILABLE) is True


def test_unavailable_from_the_bare_jid_clears_every_resource() -> None:
    book = PresenceBook(away_is_ready=False)
    book.update(ALICE, "laptop", Show.AVAILABLE)
    book.update(ALICE, "phone", Show.CHAT)

    assert book.update(ALICE, "", None) is False
    assert not book.ready(ALICE)


def test_agents_are_independent() -> None:
    book = PresenceBook(away_is_ready=False)
    book.update(ALICE, "a", Show.AVAILABLE)

    assert book.update(BOB, "b", Show.AVAILABLE) is True
    assert book.update(BOB, "b", None) is False
    assert book.ready(ALICE)


def test_clear_forgets_what_was_reported() -> None:
    book = PresenceBook(away_is_ready=False)
    book.update(ALICE, "laptop", Show.AVAILABLE)

    book.clear()

    # After a reconnect the same presence must be written again: the store may be stale.
    assert not book.ready(ALICE)
    assert book.update(ALICE, "laptop", Show.AVAILABLE) is True


def test_forget_one_agent() -> None:
    book = PresenceBook(away_is_ready=True)
    book.update(ALICE, "laptop", Show.AWAY)
    book.update(BOB, "desk", Show.AVAILABLE)

    book.forget(ALICE)

    assert not book.ready(ALICE)
    assert book.ready(BOB)
    assert book.update(ALICE, "laptop", Show.AWAY) is True
