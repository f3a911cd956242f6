"""Presence subscriptions between agents' accounts and queue JIDs, kept in the database.

The component's roster lives in memory: without a stored copy, a restarted engine would
answer an agent's presence probe with ``unsubscribed`` and cancel the subscription. The
business layer stores the records for the bridge without reading them
(``AdapterStateService``): subscription state is XMPP's business, not the engine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from business.adapter_state import AdapterStateService
from business.model import QueueName
from business.ports import JsonValue

ADAPTER = "xmpp.subscription"
"""The adapter-state name of these records; keys are ``"<address> <queue>"``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """Subscription state between one account and one queue JID (anybody may subscribe;
    only agents of the queue are accepted)."""

    address: str
    queue: QueueName
    agent_sees_queue: bool = False
    """The agent is subscribed to the queue's presence (subscription 'from' for the queue)."""
    queue_sees_agent: bool = False
    """The queue is subscribed to the agent's presence ('to' for the queue)."""


def _key(address: str, queue: QueueName) -> str:
    # Neither a bare JID nor a queue name contains a space.
    return f"{address} {queue}"


def _bool(value: JsonValue) -> bool:
    return value is True


class SubscriptionStore:
    def __init__(self, state: AdapterStateService) -> None:
        self._state = state

    async def get(self, address: str, queue: QueueName) -> Subscription:
        stored = await self._state.get(ADAPTER, _key(address, queue))
        if stored is None:
            return Subscription(address=address, queue=queue)
        return Subscription(
            address=address,
            queue=queue,
            agent_sees_queue=_bool(stored.get("agent_sees_queue")),
            queue_sees_agent=_bool(stored.get("queue_sees_agent")),
        )

    async def save(self, subscription: Subscription) -> None:
        await self._state.put(
            ADAPTER,
            _key(subscription.address, subscription.queue),
            {
                "agent_sees_queue": subscription.agent_sees_queue,
                "queue_sees_agent": subscription.queue_sees_agent,
            },
        )

    async def update(self, subscription: Subscription, **changes: bool) -> Subscription:
        """Save ``changes`` if they change anything; returns the result."""
        if all(getattr(subscription, key) == value for key, value in changes.items()):
            return subscription
        changed = dataclasses.replace(subscription, **changes)  # type: ignore[arg-type]
        await self.save(changed)
        return changed

    async def list(self) -> Sequence[Subscription]:
        """Ordered by address, then queue."""
        found = []
        for key, stored in await self._state.list(ADAPTER):
            address, _, queue = key.partition(" ")
            found.append(
                Subscription(
                    address=address,
                    queue=QueueName(queue),
                    agent_sees_queue=_bool(stored.get("agent_sees_queue")),
                    queue_sees_agent=_bool(stored.get("queue_sees_agent")),
                )
            )
        return sorted(found, key=lambda s: (s.address, s.queue))
