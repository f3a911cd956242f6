"""In-memory fake of the chats reserved for their agent (``business.reawaken_ports``);
``tests.fakes`` wires it into ``FakeUnitOfWork``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from business.conversation import Conversation
from business.model import AgentId, ConversationId, ConversationState


class FakeReservations:
    def __init__(self, conversations: Mapping[ConversationId, Conversation]) -> None:
        self._conversations = conversations

    def _reserved(self) -> list[tuple[datetime, Conversation]]:
        return [
            (c.reserved_until, c)
            for c in self._conversations.values()
            if c.state is ConversationState.QUEUED and c.reserved_until is not None
        ]

    async def list_due(self, now: datetime, limit: int) -> Sequence[Conversation]:
        due = [(until, c.id, c) for until, c in self._reserved() if until <= now]
        return [c for _, _, c in sorted(due, key=lambda t: (t[0], t[1]))][: max(limit, 0)]

    async def list_for_agent(self, agent_id: AgentId, now: datetime) -> Sequence[Conversation]:
        found = [
            c for until, c in self._reserved() if until > now and c.preferred_agent_id == agent_id
        ]
        return sorted(found, key=lambda c: (c.created_at, c.id))
