"""Fan-out of committed events to the notifiers (Socket.IO room, XMPP bridge, ...), and
the stagers that write something of their own in the very transaction that stores the
events (a webhook outbox, a conversation's report row)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from business.conversation import Conversation
from business.events import DomainEvent
from business.model import ParticipantKind
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

    The counterpart hears first: a notifier subscribed with an ``audience`` (the side it
    tells: visitors, agents) is called before the others when the events' sender (of
    the first event that has one) is not of that side, so a visitor's message is on its
    way to the agent before it is echoed to the visitor's own tabs, counted or handed
    to webhooks, and an agent's reaches the visitor first. Otherwise in the order of
    subscription.

    A failing notifier is logged and skipped: the events are already stored, so the
    visitor gets them on ``sync`` and the bridge resends them from its delivery cursor.
    """

    def __init__(self) -> None:
        self._notifiers: list[tuple[ConversationNotifier, ParticipantKind | None]] = []
        self._orders: dict[ParticipantKind | None, tuple[ConversationNotifier, ...]] = {}
        self._stagers: list[EventStager] = []
        self._reorder()

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

    def subscribe(
        self, notifier: ConversationNotifier, *, audience: ParticipantKind | None = None
    ) -> None:
        """From now on ``notifier`` hears every committed event; ``audience``: the side
        of the conversation it tells, if it tells one (it then hears the other sides'
        events before the notifiers without one)."""
        self._notifiers.append((notifier, audience))
        self._reorder()

    @property
    def subscribers(self) -> tuple[ConversationNotifier, ...]:
        return self._orders[None]

    def unsubscribe(self, notifier: ConversationNotifier) -> None:
        self._notifiers = [entry for entry in self._notifiers if entry[0] is not notifier]
        self._reorder()

    def _reorder(self) -> None:
        """The calling order for each kind of sender, worked out here, not per event."""
        self._orders = {None: tuple(notifier for notifier, _ in self._notifiers)}
        for sender in ParticipantKind:
            first = [n for n, audience in self._notifiers if audience not in (None, sender)]
            rest = [n for n, audience in self._notifiers if audience in (None, sender)]
            self._orders[sender] = (*first, *rest)

    async def publish(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        sender = None
        for event in events:  # the change's author: its first event with a sender
            sender = getattr(event, "sender", None)
            if sender is not None:
                break
        for notifier in self._orders[None if sender is None else sender.kind]:
            try:
                await notifier.notify(conversation, events)
            except Exception:
                logger.exception(
                    "notifier %s failed for conversation %s",
                    type(notifier).__name__,
                    conversation.id,
                )
