"""``MetricsNotifier``: the counters of ``/metrics`` that count what happened, from
committed events.

It is a ``business.ports.ConversationNotifier`` on the publisher, so it sees exactly what
was committed, once, in the process that committed it: nothing rolled back is counted,
and the counters of several engine processes add up (sum them in queries). It runs on
the message path, so a message costs one dict lookup and one increment: the labelled
children are kept here by their label values, instead of asking the metric for them
(which takes a lock and builds a tuple) each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from business.conversation import Conversation
from business.events import (
    DomainEvent,
    MessagePosted,
    OfferClosed,
    OfferMade,
    OfferOutcome,
    StateChanged,
)
from business.model import ConversationState, OfferKind, ParticipantKind

DIRECTIONS: Final = {
    ParticipantKind.VISITOR: "visitor_to_agent",
    ParticipantKind.AGENT: "agent_to_visitor",
    ParticipantKind.BOT: "bot_to_visitor",
    ParticipantKind.SYSTEM: "system_to_visitor",
}
"""The ``direction`` label of a message, by who wrote it."""

WAIT_BUCKETS: Final = (
    *(1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0),
    *(300.0, 600.0, 1200.0, 1800.0, 3600.0),
)
"""Seconds: fine where service levels are set (20 s, 30 s, 60 s), coarse beyond."""

_Key = tuple[str, ...]


class MetricsNotifier:
    """Counts messages each way, conversations started and ended, offers made and how
    they ended, and observes the wait of each chat a routed offer gives an agent."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._messages = Counter(
            "chat_messages",
            "Messages stored that the visitor sees, by direction (visitor_to_agent, "
            "agent_to_visitor, bot_to_visitor, system_to_visitor)",
            ["tenant", "queue", "direction"],
            registry=registry,
        )
        self._started = Counter(
            "chat_conversations_started",
            "Conversations started",
            ["tenant", "queue"],
            registry=registry,
        )
        self._ended = Counter(
            "chat_conversations_ended",
            "Conversations ended (by the queue they ended in)",
            ["tenant", "queue"],
            registry=registry,
        )
        self._offers = Counter(
            "chat_offers",
            "Offers made to agents, by kind (route, transfer, invite, consult)",
            ["tenant", "queue", "kind"],
            registry=registry,
        )
        self._outcomes = Counter(
            "chat_offer_outcomes",
            "Offers closed, by kind and outcome (accepted, declined, timed_out, withdrawn)",
            ["tenant", "queue", "kind", "outcome"],
            registry=registry,
        )
        self._wait = Histogram(
            "chat_queue_wait_seconds",
            "Seconds from a chat's start until an agent took it from its queue, observed "
            "when a routed offer is accepted",
            ["tenant", "queue"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._message_children: dict[_Key, Counter] = {}
        self._counter_children: dict[tuple[Counter, _Key], Counter] = {}
        self._wait_children: dict[_Key, Histogram] = {}

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        tenant, queue = conversation.tenant_id, conversation.queue
        for event in events:
            match event:
                case MessagePosted(sender=sender):  # first: by far the most frequent
                    key = (tenant, queue, sender.kind)
                    child = self._message_children.get(key)
                    if child is None:
                        child = self._message_child(key)
                    child.inc()
                case StateChanged(state=ConversationState.ENDED):
                    self._count(self._ended, (tenant, queue))
                case StateChanged(pos=1):  # ``Conversation.open``: the first event of all
                    self._count(self._started, (tenant, queue))
                case OfferMade(kind=kind):
                    self._count(self._offers, (tenant, queue, kind.value))
                case OfferClosed():
                    self._offer_closed(conversation, event)
                case _:
                    pass

    def _offer_closed(self, conversation: Conversation, event: OfferClosed) -> None:
        tenant, queue = conversation.tenant_id, conversation.queue
        self._count(self._outcomes, (tenant, queue, event.kind.value, event.outcome.value))
        if event.kind is OfferKind.ROUTE and event.outcome is OfferOutcome.ACCEPTED:
            waited = (event.created_at - conversation.created_at).total_seconds()
            child = self._wait_children.get((tenant, queue))
            if child is None:
                child = self._wait_children[(tenant, queue)] = self._wait.labels(tenant, queue)
            child.observe(max(waited, 0.0))

    def _message_child(self, key: _Key) -> Counter:
        tenant, queue, sender = key
        child = self._messages.labels(tenant, queue, DIRECTIONS[ParticipantKind(sender)])
        self._message_children[key] = child
        return child

    def _count(self, metric: Counter, labels: _Key) -> None:
        child = self._counter_children.get((metric, labels))
        if child is None:
            child = self._counter_children[(metric, labels)] = metric.labels(*labels)
        child.inc()
