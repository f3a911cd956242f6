"""What agents read about messaging threads (``business.threads``); the same rules as
``xmpp_bridge.texts`` hold for a translation."""

from __future__ import annotations

HELP_LOCK = "messaging threads: lock this thread, the visitor can only read it"
HELP_UNLOCK = "messaging threads: unlock this thread, the visitor can write again"
THREAD_LOCKED = "Thread locked: the visitor reads it and cannot write. !unlock opens it again."
THREAD_UNLOCKED = "Thread unlocked: the visitor can write again."
HELP_NEW_THREAD = "messaging threads: open a new thread to this visitor with this first message"
NEW_THREAD_EMPTY = "Write the first message after the command: !newthread <text>"
THREAD_OPENED = (
    "New thread opened with your message; the visitor finds it in their conversations. "
    "It waits on hold: their answer brings it back to you."
)
OPENED_WITH = "[You opened this thread] "
"""Before an outbound thread's first message, in that thread's window: the agent wrote
it elsewhere (``!newthread`` in another chat), or an integrator did in their name."""
