"""Ports of delivery ownership (``business.delivery_ownership``): which engine process
sends each conversation's events to agents, and the nudges between processes.

Reached as ``tx.delivery_owners`` (the leases, in the database) and, outside units of
work, a ``DeliveryWakes`` (a message to the owner that a conversation has events it
has not sent yet).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NewType, Protocol

from business.model import ConversationId

NodeId = NewType("NodeId", str)
"""One engine process for as long as it runs (a new one at every start)."""


class DeliveryOwnerRepository(Protocol):
    """Node leases and conversation owners. Times are the database's own clock, so the
    processes' clocks never have to agree."""

    async def beat(self, node: NodeId, lease_seconds: float) -> Sequence[NodeId]:
        """Register ``node`` or renew its lease (valid ``lease_seconds`` from now);
        return the nodes whose lease is valid, ``node`` among them."""
        ...

    async def live(self) -> Sequence[NodeId]:
        """The nodes whose lease is valid, without renewing any."""
        ...

    async def owners(
        self, conversation_ids: Sequence[ConversationId]
    ) -> Mapping[ConversationId, NodeId]:
        """The stored owner of each conversation that has one (live or not)."""
        ...

    async def claim(
        self, conversation_ids: Sequence[ConversationId], node: NodeId
    ) -> Mapping[ConversationId, NodeId]:
        """Make ``node`` the owner of each conversation that has none, is its already, or
        whose owner's lease ran out; return every conversation's owner afterwards (a
        conversation that does not exist is left out)."""
        ...

    def own_new(self, conversation_ids: Sequence[ConversationId], node: NodeId) -> None:
        """Make ``node`` the owner of conversations created in this same unit of work
        (written with them at its commit: nobody else can know them before)."""
        ...

    async def leave(self, node: NodeId) -> int:
        """Release every conversation of ``node`` and remove its lease (a drain); returns
        how many it owned."""
        ...


class DeliveryWakes(Protocol):
    """A nudge to the owning process: "conversation X has events you have not sent"."""

    async def send(self, owner: NodeId, conversation_ids: Sequence[ConversationId]) -> None: ...

    async def listen(
        self,
        node: NodeId,
        on_wake: Callable[[Sequence[ConversationId]], None],
        on_connected: Callable[[], None],
    ) -> None:
        """Call ``on_wake`` with the conversations other processes name to ``node``, from
        now until ``stop``; ``on_connected`` at every (re)connection, before any wake
        (wakes sent while not connected are lost: catch up then)."""
        ...

    async def stop(self) -> None: ...
