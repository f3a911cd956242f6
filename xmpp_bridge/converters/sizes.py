"""How many bytes text takes in a stanza, and how to cut or split it to fit a budget.

Pure text functions: no slixmpp. Sizes are what slixmpp writes: UTF-8, with ``&``, ``<``,
``>``, ``"`` and ``'`` escaped (``&quot;`` is six bytes for one character). They are
exact for text that went through ``xml_safe``, which every converter applies first.
"""

from __future__ import annotations

import re
import unicodedata

# Everything outside XML 1.0's Char production: control characters and lone surrogates.
_NOT_XML_CHAR_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

MIN_SPLIT_ROOM = 16
"""Below this a body is not split: parts of a few characters help nobody (and the link
refuses whatever does not fit)."""

_BREAK_LOOKBACK = 200
"""How far back from a part's end a split looks for whitespace to break at."""


def xml_safe(text: str) -> str:
    """``text`` with characters XML cannot carry replaced by U+FFFD.

    slixmpp writes them as they are: a control character makes the server close the
    stream (and the replay after reconnect would send the same event again, forever);
    a lone surrogate makes slixmpp drop the stanza without a word.
    """
    return _NOT_XML_CHAR_RE.sub("\ufffd", text)


def xml_size(text: str) -> int:
    """The bytes ``text`` takes as escaped element text or attribute value.

    ``surrogatepass`` counts a lone surrogate as the three bytes of the U+FFFD that
    ``xml_safe`` puts in its place; control characters are only exact after ``xml_safe``.
    """
    return (
        len(text.encode("utf-8", "surrogatepass"))
        + 4 * text.count("&")
        + 3 * (text.count("<") + text.count(">"))
        + 5 * (text.count('"') + text.count("'"))
    )


def fitting_prefix(text: str, room: int) -> int:
    """The length of the longest start of ``text`` whose ``xml_size`` is at most ``room``."""
    # Every character takes at least one byte, so no more than ``room`` of them fit.
    high = min(len(text), max(room, 0))
    if xml_size(text[:high]) <= room:
        return high
    low = 0  # fits; ``high`` does not
    while high - low > 1:
        middle = (low + high) // 2
        if xml_size(text[:middle]) <= room:
            low = middle
        else:
            high = middle
    return low


def cut_to_fit(text: str, room: int, marker: str) -> str:
    """``text`` if it fits ``room``, else its longest start that fits with ``marker`` after it
    (just ``marker`` cut to fit if even that is too long)."""
    if xml_size(text) <= room:
        return text
    kept = fitting_prefix(text, room - xml_size(marker))
    if kept == 0 and xml_size(marker) > room:
        return marker[: fitting_prefix(marker, room)]
    return text[:kept] + marker


def split_to_fit(text: str, room: int) -> list[str]:
    """Consecutive pieces of ``text``, each with ``xml_size`` at most ``room``, that join
    back to ``text`` exactly.

    Pieces end after whitespace where there is some near the end, never between a CR and
    the LF after it (an XML parser turns CR LF into one LF, but each half alone into an
    LF of its own) and never before a combining mark.
    """
    if room < MIN_SPLIT_ROOM:
        raise ValueError(f"cannot split text into pieces of {room} bytes")
    pieces: list[str] = []
    start = 0
    while start < len(text):
        # At most ``room`` characters fit, so only that much is ever measured.
        end = start + fitting_prefix(text[start : start + room], room)
        if end < len(text):
            end = _break_before(text, start, end)
        pieces.append(text[start:end])
        start = end
    return pieces


def _break_before(text: str, start: int, end: int) -> int:
    """A nicer place than ``end`` to end the piece starting at ``start``, at most ``end``."""
    lookback = min(_BREAK_LOOKBACK, (end - start) // 4)
    for index in range(end - 1, end - 1 - lookback, -1):
        if text[index].isspace():
            end = index + 1
            break
    if end - start > 1 and text[end - 1] == "\r" and text[end] == "\n":
        end -= 1
    while end - start > 1 and unicodedata.combining(text[end]):
        end -= 1
    return end
