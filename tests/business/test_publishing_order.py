"""The counterpart hears first: the order in which ``EventPublisher`` calls its notifiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from business.conversation import Conversation
from business.events import DomainEvent, MessagePosted, StateChanged
from business.model import (
    DEFAULT_QUEUE,
    DEFAULT_TENANT,
    ConversationId,
    ConversationState,
    EventId,
    Participant,
    ParticipantKind,
    VisitorContext,
    VisitorId,
)
from business.publishing import EventPublisher

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CID = ConversationId("c1")
CONVERSATION = Conversation.open(
    id=CID,
    tenant_id=DEFAULT_TENANT,
    visitor_id=VisitorId("v1"),
    visitor_name="Ann",
    queue=DEFAULT_QUEUE,
    position=1,
    now=T0,
    context=VisitorContext(),
    form={},
).conversation


class Named:
    """A notifier that writes its name into ``heard`` when it is called."""

    def __init__(self, name: str, heard: list[str], *, fails: bool = False) -> None:
        self.name, self.heard, self.fails = name, heard, fails

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        self.heard.append(self.name)
        if self.fails:
            raise RuntimeError("this notifier is broken")


def message(kind: ParticipantKind) -> MessagePosted:
    return MessagePosted(
        conversation_id=CID,
        seq=1,
        pos=1,
        created_at=T0,
        id=EventId("e1"),
        sender=Participant(kind=kind, name=kind.value),
        text="hello",
    )


def ended() -> StateChanged:
    return StateChanged(
        conversation_id=CID, seq=2, pos=2, created_at=T0, state=ConversationState.ENDED
    )


def subscribed(heard: list[str]) -> EventPublisher:
    """As the engine subscribes them: the visitors' socket notifier, a counter, the
    agents' bridge, then the webhooks' outbox."""
    publisher = EventPublisher()
    publisher.subscribe(Named("tabs", heard), audience=ParticipantKind.VISITOR)
    publisher.subscribe(Named("metrics", heard))
    publisher.subscribe(Named("bridge", heard), audience=ParticipantKind.AGENT)
    publisher.subscribe(Named("webhooks", heard))
    return publisher


async def test_a_visitors_message_reaches_the_agents_side_first() -> None:
    heard: list[str] = []
    await subscribed(heard).publish(CONVERSATION, [message(ParticipantKind.VISITOR)])
    assert heard == ["bridge", "tabs", "metrics", "webhooks"]


async def test_an_agents_message_reaches_the_visitors_side_first() -> None:
    heard: list[str] = []
    await subscribed(heard).publish(CONVERSATION, [message(ParticipantKind.AGENT)])
    assert heard == ["tabs", "metrics", "bridge", "webhooks"]


async def test_a_bots_message_goes_to_both_sides_before_the_rest() -> None:
    heard: list[str] = []
    await subscribed(heard).publish(CONVERSATION, [message(ParticipantKind.BOT)])
    assert heard == ["tabs", "bridge", "metrics", "webhooks"]


async def test_events_without_a_sender_go_in_the_order_of_subscription() -> None:
    heard: list[str] = []
    await subscribed(heard).publish(CONVERSATION, [ended()])
    assert heard == ["tabs", "metrics", "bridge", "webhooks"]


async def test_the_first_sender_among_the_events_decides() -> None:
    # A visitor's message and a bot's answer to it in one change: the visitor wrote.
    heard: list[str] = []
    events: list[DomainEvent] = [
        ended(),
        message(ParticipantKind.VISITOR),
        message(ParticipantKind.BOT),
    ]
    await subscribed(heard).publish(CONVERSATION, events)
    assert heard == ["bridge", "tabs", "metrics", "webhooks"]


async def test_a_failing_notifier_stops_nobody() -> None:
    heard: list[str] = []
    publisher = EventPublisher()
    publisher.subscribe(Named("tabs", heard, fails=True), audience=ParticipantKind.VISITOR)
    publisher.subscribe(Named("bridge", heard), audience=ParticipantKind.AGENT)
    await publisher.publish(CONVERSATION, [message(ParticipantKind.AGENT)])
    assert heard == ["tabs", "bridge"]
    await publisher.publish(CONVERSATION, [message(ParticipantKind.VISITOR)])
    assert heard == ["tabs", "bridge", "bridge", "tabs"]


async def test_an_unsubscribed_notifier_hears_nothing_whoever_writes() -> None:
    heard: list[str] = []
    publisher = subscribed(heard)
    bridge = next(n for n in publisher.subscribers if getattr(n, "name", "") == "bridge")
    publisher.unsubscribe(bridge)
    for kind in ParticipantKind:
        await publisher.publish(CONVERSATION, [message(kind)])
    await publisher.publish(CONVERSATION, [ended()])
    assert "bridge" not in heard
    assert len(heard) == 3 * (len(ParticipantKind) + 1)
    assert [getattr(n, "name", "") for n in publisher.subscribers] == [
        "tabs",
        "metrics",
        "webhooks",
    ]
