"""Sizes measured as the serialiser writes them; cutting and splitting to fit."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from tests.xmpp_bridge.support import ADDRESSING, ALICE_JID
from xmpp_bridge.converters import custom_to_stanza, fits, serialised_size, xml_safe, xml_size
from xmpp_bridge.converters.sizes import MIN_SPLIT_ROOM, cut_to_fit, split_to_fit
from xmpp_bridge.custom import TextReply
from xmpp_bridge.settings import MAX_STANZA_BUDGET

# What costs more than a byte: escapes, multibyte UTF-8, line ends a parser rewrites,
# combining marks, characters XML cannot carry at all.
tricky = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("a <&>\"'€ü😀\r\n\t\u0301\x00\x1b\ud800")),
        st.characters(),
    )
)


def reply_size(text: str) -> int:
    [stanza] = custom_to_stanza(
        TextReply(sender="chat.localhost", to=ALICE_JID, text=text, stanza_id="r1"),
        ADDRESSING,
        budget=MAX_STANZA_BUDGET,
    )
    return serialised_size(stanza)


@given(text=tricky)
def test_xml_size_is_what_the_serialiser_writes(text: str) -> None:
    assert reply_size("x" + text) - reply_size("x") == xml_size(xml_safe(text))


@given(text=tricky)
def test_fits_agrees_with_the_serialised_size(text: str) -> None:
    [stanza] = custom_to_stanza(
        TextReply(sender="chat.localhost", to=ALICE_JID, text="x" + text), ADDRESSING
    )
    size = serialised_size(stanza)

    assert fits(stanza, size)
    assert not fits(stanza, size - 1)


@given(text=tricky.map(xml_safe), room=st.integers(min_value=MIN_SPLIT_ROOM, max_value=300))
def test_split_pieces_fit_and_join_back(text: str, room: int) -> None:
    pieces = split_to_fit(text, room)

    assert "".join(pieces) == text
    assert all(piece and xml_size(piece) <= room for piece in pieces)
    # A CR and its LF stay together: a parser reads each half alone as a line end.
    assert not any(a.endswith("\r") and b.startswith("\n") for a, b in itertools.pairwise(pieces))


def test_split_prefers_to_break_after_whitespace() -> None:
    pieces = split_to_fit("word " * 100, 52)

    assert all(piece.endswith(" ") for piece in pieces)


def test_split_never_separates_a_letter_from_its_accent() -> None:
    pieces = split_to_fit("e\u0301" * 100, 17)

    assert all(not piece.startswith("\u0301") for piece in pieces)


@given(text=tricky.map(xml_safe), room=st.integers(min_value=0, max_value=200))
def test_cut_to_fit_keeps_the_start_and_marks_the_cut(text: str, room: int) -> None:
    cut = cut_to_fit(text, room, "…")

    assert xml_size(cut) <= room
    if xml_size(text) <= room:
        assert cut == text
    elif room >= xml_size("…"):
        assert cut.endswith("…")
        assert text.startswith(cut[:-1])
