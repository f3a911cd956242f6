"""Fan-out of committed events to the notifiers (Socket.IO room, XMPP bridge, ...)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from business.conversation import Conversation
from business.events import DomainEvent
from business.ports import ConversationNotifier

logger = logging.getLogger(__name__)


class EventPublisher:
    """Calls every subscribed notifier in turn, after commit.

    A failing notifier is logged and skipped: the events are already stored, so the
    visitor gets them on ``sync`` and the bridge resends them from its delivery cursor.
    """

    def __init__(self) -> None:
        self._notifiers: list[ConversationNotifier] = []

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
