"""The port of the chats reserved for their agent (``business.reawaken``), apart from
``business.ports``; ``business.ports.UnitOfWork`` offers it as ``reservations``.

Only reads, always from the database (never the conversation cache): the deadlines are
stored on the conversations (``Conversation.reserved_until``), so a restart loses none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from business.conversation import Conversation
from business.model import AgentId


class ReservationRepository(Protocol):
    async def list_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        """At most ``limit`` queued conversations whose reservation ended at ``now`` or
        before, soonest first (``id`` breaks ties)."""
        ...

    async def list_for_agent(self, agent_id: AgentId, now: datetime) -> Sequence[Conversation]:
        """The queued conversations reserved for ``agent_id`` (their
        ``preferred_agent_id``) beyond ``now``, oldest first (``created_at``, then
        ``id``)."""
        ...
