"""Fan-out of committed events to the notifiers (Socket.IO room, XMPP bridge, ...), and
the stagers that write something of their own in the very transaction that stores the
events (a webhook outbox, a conversation's report row)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from business.conversation import Conversation
from business.events import DomainEvent
from business.ports import ConversationNotifier, UnitOfWork

logger = logging.getLogger(__name__)


class EventStager(Protocol):
    """Writes what must be stored with the events, in their transaction: called by
    ``Transaction.apply`` after the change's events were added, before the commit. What
    it writes commits or rolls back with them, so an outbox row exists exactly when its
    event does. It must not publish, and it should be cheap when it has nothing to do
    (it runs on the message path): decide from cached configuration, not a read."""

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None: ...


class EventPublisher:
    """Calls every subscribed notifier in turn, after commit.

    A failing notifier is logged and skipped: the events are already stored, so the
    visitor gets them on ``sync`` and the bridge resends them from its delivery cursor.
    """

    def __init__(self) -> None:
        self._notifiers: list[ConversationNotifier] = []
        self._stagers: list[EventStager] = []

    def add_stager(self, stager: EventStager) -> None:
        """Stage with ``stager`` in every transaction from now on (the composition root
        adds them before anything runs)."""
        self._stagers.append(stager)

    async def stage(
        self, uow: UnitOfWork, conversation: Conversation, events: Sequence[DomainEvent]
    ) -> None:
        """Inside the transaction: a failing stager fails the transaction, so nothing is
        committed without what it had to write."""
        for stager in self._stagers:
            await stager.stage(uow, conversation, events)

    def subscribe(self, notifier: ConversationNotifier) -> None:
        self._notifiers.append(notifier)

    @property
    def subscribers(self) -> tuple[ConversationNotifier, ...]:
        return tuple(self._notifiers)

    def unsubscribe(self, notifier: ConversationNotifier) -> None:
        if notifier in self._notifiers:
            self._notifiers.remove(notifier)

    async def publish(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        for notifier in list(self._notifiers):
            try:
                await notifier.notify(conversation, events)
            except Exception:
                logger.exception(
                    "notifier %s failed for conversation %s",
                    type(notifier).__name__,
                    conversation.id,
                )
