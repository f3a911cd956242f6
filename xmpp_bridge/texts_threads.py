"""What agents read about messaging threads (``business.threads``); the same rules as
``xmpp_bridge.texts`` hold for a translation."""

from __future__ import annotations

HELP_LOCK = "messaging threads: lock this thread, the visitor can only read it"
HELP_UNLOCK = "messaging threads: unlock this thread, the visitor can write again"
THREAD_LOCKED = "Thread locked: the visitor reads it and cannot write. !unlock opens it again."
THREAD_UNLOCKED = "Thread unlocked: the visitor can write again."
