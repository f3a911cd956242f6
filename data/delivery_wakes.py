"""``business.ownership_ports.DeliveryWakes`` over PostgreSQL NOTIFY: a process that
stored events of a conversation another process delivers tells that one so.

The payload is ``<schema> <node> <id> <id> …`` on ``CHANNEL``; every process of the
schema hears every wake and keeps those naming it. A nudge is not a guarantee: one sent
while the owner's listening connection is down, or to an owner that just died, is lost.
What stays true is the store (the events and the delivery cursors): the owner catches
up on everything of its own at every (re)connection of its listener, and a dead
owner's conversations are taken over and caught up on by the others
(``xmpp_bridge.ownership``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from business.model import ConversationId
from business.ownership_ports import NodeId
from data.pg_listener import PgListener

logger = logging.getLogger(__name__)

CHANNEL = "chat_engine_delivery"
MAX_PAYLOAD = 7000
"""PostgreSQL refuses payloads of 8000 bytes or more: longer lists go in several."""

_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', current_schema() || ' ' || :payload)")


class PgDeliveryWakes:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._listener: PgListener | None = None
        self.received = 0
        """Wakes for this node heard (for tests and metrics)."""

    async def send(self, owner: NodeId, conversation_ids: Sequence[ConversationId]) -> None:
        for payload in _payloads(owner, conversation_ids):
            async with self._engine.begin() as connection:
                await connection.execute(_NOTIFY, {"payload": payload})

    async def listen(
        self,
        node: NodeId,
        on_wake: Callable[[Sequence[ConversationId]], None],
        on_connected: Callable[[], None],
    ) -> None:
        def on_body(body: str) -> None:
            target, _, rest = body.partition(" ")
            if target != node or not rest:
                return
            self.received += 1
            on_wake([ConversationId(c) for c in rest.split(" ")])

        self._listener = PgListener(
            self._engine, CHANNEL, on_body=on_body, on_connected=on_connected
        )
        await self._listener.start()

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()


def _payloads(owner: NodeId, conversation_ids: Sequence[ConversationId]) -> list[str]:
    payloads: list[str] = []
    current: str = owner
    for cid in conversation_ids:
        if len(current) + len(cid) + 1 > MAX_PAYLOAD and current != owner:
            payloads.append(current)
            current = owner
        current = f"{current} {cid}"
    if current != owner:
        payloads.append(current)
    return payloads
