"""``SocketIoVisitorNotifier``: committed events and agent typing to the visitor's tabs."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import socketio

from business.conversation import Conversation
from business.events import DeskEvent, DomainEvent, TypingChanged, VisitorMoved, VisitorRead
from business.model import ParticipantKind
from presentation.event_refs import EventRefs
from presentation.settings import WebSettings
from presentation.visitor_namespace import NAMESPACE, conversation_room, visitor_room
from presentation.wire import typing_to_wire

logger = logging.getLogger(__name__)


class SocketIoVisitorNotifier:
    """Implements ``business.ports.ConversationNotifier`` for Socket.IO visitors.

    Each event goes to the conversation's room and to the visitor's room in one emit:
    python-socketio sends it once to a socket that is in both, and the visitor room
    reaches tabs that connected before the conversation existed. A visitor's own typing
    is never sent back: the only audience in these rooms is that same visitor. An event
    larger than ``refs`` allows goes as its reference (``presentation.event_refs``;
    default: ``WebSettings``' default limit).
    """

    def __init__(self, sio: socketio.AsyncServer, *, refs: EventRefs | None = None) -> None:
        self._sio = sio
        self._refs = refs or EventRefs(inline_max_bytes=WebSettings().event_inline_max_bytes)

    async def notify(self, conversation: Conversation, events: Sequence[DomainEvent]) -> None:
        rooms = [conversation_room(conversation.id), visitor_room(conversation.visitor_id)]
        for event in events:
            try:
                if isinstance(event, TypingChanged):
                    if event.sender.kind is ParticipantKind.VISITOR:
                        continue
                    await self._sio.emit(
                        "typing", typing_to_wire(event), to=rooms, namespace=NAMESPACE
                    )
                elif not isinstance(event, DeskEvent | VisitorRead | VisitorMoved):
                    # Notes and the like are the agent desk's alone: never a visitor's
                    # (and the visitor's own read marks are for the agents).
                    await self._sio.emit(
                        "event", self._refs.live(event), to=rooms, namespace=NAMESPACE
                    )
            except Exception:
                # The event is stored; the widget gets it on its next sync.
                logger.exception(
                    "could not emit to the visitors of conversation %s", conversation.id
                )
        if not conversation.is_open:
            await self._leave_ended(conversation)

    async def _leave_ended(self, conversation: Conversation) -> None:
        """An ended conversation's room goes: the visitor room reaches the same tabs (and
        a reconnect joins only the rooms of conversations not ended). Kept, a tab that
        starts and ends chats would hold one room per chat for as long as it stays open."""
        try:
            await self._sio.close_room(conversation_room(conversation.id), namespace=NAMESPACE)
        except Exception:
            logger.exception("could not close the room of ended conversation %s", conversation.id)
