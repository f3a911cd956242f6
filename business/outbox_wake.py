"""``OutboxWake``: what an ``EventStager`` that writes outbox rows shares (the webhook
outbox, the automatic transcript): it notes in the transaction that it staged rows, and
after the commit (as a ``ConversationNotifier``) wakes its listeners, the sender that
works the outbox, at once instead of at its next poll.

The mark is set before the commit and read after it: a rolled-back change only costs the
sender one look for nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from business.conversation import Conversation
from business.events import DomainEvent


class OutboxWake:
    def __init__(self) -> None:
        self._staged = False
        self._listeners: list[Callable[[], None]] = []

    def on_committed(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each publication that may have staged outbox rows."""
        self._listeners.append(listener)

    def staged(self) -> None:
        """Called by the stager, in the transaction, when it wrote rows."""
        self._staged = True

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        if not self._staged:
            return
        self._staged = False
        for listener in self._listeners:
            listener()
