"""In-memory fake of the integrators' conversation queries
(``business.conversation_query_ports``); ``tests.fakes`` wires it into
``FakeUnitOfWork``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from business.conversation import Conversation
from business.conversation_query_ports import (
    ConversationCriteria,
    ConversationKey,
    MessageCounts,
)
from business.events import MessagePosted, NoteAdded, StoredEvent
from business.model import ConversationId, ParticipantKind


def _matches(conv: Conversation, criteria: ConversationCriteria) -> bool:
    return (
        conv.tenant_id == criteria.tenant_id
        and (not criteria.states or conv.state in criteria.states)
        and (criteria.queue is None or conv.queue == criteria.queue)
        and (criteria.agent_id is None or conv.agent_id == criteria.agent_id)
        and (criteria.visitor_id is None or conv.visitor_id == criteria.visitor_id)
        and (criteria.since is None or conv.created_at >= criteria.since)
        and (criteria.until is None or conv.created_at < criteria.until)
        and (criteria.channel is None or conv.channel is criteria.channel)
    )


class FakeConversationQueries:
    """Over the store's conversations and events (dicts the unit of work copies)."""

    def __init__(
        self,
        conversations: Mapping[ConversationId, Conversation],
        events: Mapping[ConversationId, list[StoredEvent]],
    ) -> None:
        self._conversations = conversations
        self._events = events

    async def search(
        self, criteria: ConversationCriteria, *, after: ConversationKey | None, limit: int
    ) -> Sequence[Conversation]:
        found = sorted(
            (c for c in self._conversations.values() if _matches(c, criteria)),
            key=lambda c: (c.created_at, c.id),
            reverse=True,
        )
        if after is not None:
            found = [c for c in found if (c.created_at, c.id) < (after.created_at, after.id)]
        return found[: max(limit, 0)]

    async def message_counts(self, conversation_id: ConversationId) -> MessageCounts:
        messages = {kind: 0 for kind in ParticipantKind}
        notes = 0
        for event in self._events.get(conversation_id, []):
            if isinstance(event, MessagePosted):
                messages[event.sender.kind] += 1
            elif isinstance(event, NoteAdded):
                notes += 1
        return MessageCounts(
            visitor=messages[ParticipantKind.VISITOR],
            agent=messages[ParticipantKind.AGENT],
            bot=messages[ParticipantKind.BOT],
            system=messages[ParticipantKind.SYSTEM],
            notes=notes,
        )
