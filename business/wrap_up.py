"""Wrap-up: how an agent closes a chat (``!end [code] [text]``), against its queue's codes.

The first word is a code when the queue lists it (case does not matter); everything else
is a note. A queue that requires a code refuses an end without one, or with a word that
is none of its codes, naming the codes: the chat stays open.
"""

from __future__ import annotations

from business.errors import InvalidInput
from business.model import Queue

MAX_NOTE_CHARS = 2000


def read_wrap_up(text: str, queue: Queue | None) -> tuple[str | None, str | None]:
    """(code, note) from what followed ``!end``; ``InvalidInput`` when the queue needs a
    code and gets none."""
    rest = text.strip()
    codes = () if queue is None else queue.wrap_up_codes
    words = rest.split(None, 1)
    code = None
    if words and words[0].lower() in codes:
        code = words[0].lower()
        rest = words[1].strip() if len(words) > 1 else ""
    note = rest or None
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"the wrap-up note is longer than {MAX_NOTE_CHARS} characters")
    if code is None and queue is not None and queue.require_wrap_up:
        listed = ", ".join(queue.wrap_up_codes)
        raise InvalidInput(
            f"this queue needs a wrap-up code: !end <code> [note], with one of {listed}"
        )
    return code, note
