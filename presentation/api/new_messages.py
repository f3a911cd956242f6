"""Whether posting a message stored it, or found it stored by an earlier try.

``POST /conversations/{id}/messages`` answers 201 when it stored the message and 200
with the same body when the ``client_msg_id`` was used before (a retry). The use case
(``IntegratorMessageService.post``) returns the stored message either way; what tells
the two apart is that only a message it stored is published, and it is published
before ``post`` returns (a transaction publishes its events when it closes). So a
request watches its conversation's publications while it posts: the message it gets
back was published meanwhile exactly when this call (or, in a race, a concurrent first
try in this process, which then gets 201 too) stored it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from aiohttp import web

from business.conversation import Conversation
from business.events import DomainEvent, MessagePosted
from business.model import ConversationId


class NewMessages:
    """A ``ConversationNotifier``: collects the ids of messages published in the
    conversations somebody watches, for as long as they watch (nothing otherwise)."""

    def __init__(self) -> None:
        self._watches: dict[ConversationId, list[set[str]]] = {}

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        watches = self._watches.get(conversation.id)
        if not watches:
            return
        published = {event.id for event in events if isinstance(event, MessagePosted)}
        for seen in watches:
            seen |= published

    @contextmanager
    def watching(self, conversation_id: ConversationId) -> Iterator[set[str]]:
        """The ids of the messages published in the conversation while in the block."""
        seen: set[str] = set()
        watches = self._watches.setdefault(conversation_id, [])
        watches.append(seen)
        try:
            yield seen
        finally:
            # By identity: two watches that saw nothing are equal sets.
            watches[:] = [other for other in watches if other is not seen]
            if not watches:
                del self._watches[conversation_id]


NEW_MESSAGES: Final = web.AppKey("new_messages", NewMessages)
