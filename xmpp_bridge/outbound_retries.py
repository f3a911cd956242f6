"""Retries and catch-ups of ``XmppAgentNotifier`` (``xmpp_bridge.outbound``): a delivery
that failed is tried again with capped backoff, and a conversation another process
stored events of is read afresh and delivered, each on its lane."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable, Sequence

from business.conversation import Conversation
from business.errors import NotFound
from business.events import StoredEvent
from business.model import AgentId, ConversationId, MemberRole
from business.services import Services
from xmpp_bridge.concurrency import SerialLanes
from xmpp_bridge.retries import RetrySchedule

logger = logging.getLogger("xmpp_bridge.outbound")


class Retries:
    """The part of ``XmppAgentNotifier`` that tries again."""

    _services: Services
    _lanes: SerialLanes
    _retries: RetrySchedule
    _retry_wake: asyncio.Event

    async def _deliver_or_retry(
        self,
        conversation: Conversation,
        events: Sequence[StoredEvent],
        *,
        delayed: bool,
        generation: int | None = None,
        recipient: AgentId | None = None,
        watching: bool = False,
    ) -> None:
        raise NotImplementedError

    def catch_up(self, conversation_ids: Iterable[ConversationId]) -> None:
        """Send what the conversations' agents have not been sent, read afresh from the
        store (another process stored it), each on its lane."""
        for cid in conversation_ids:
            self._lanes.submit(cid, functools.partial(self._retry, cid, fresh=True))

    # -- retries ------------------------------------------------------------------------

    async def _retry_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._retry_wake.clear()
            due = self._retries.next_due()
            if due is None or due > loop.time():
                # A new failure may be due sooner: it wakes this up to look again.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(due):
                        await self._retry_wake.wait()
                continue
            for cid in self._retries.take_due(loop.time()):
                self._lanes.submit(cid, functools.partial(self._retry, cid))

    async def _retry(self, cid: ConversationId, *, fresh: bool = False) -> None:
        try:
            if fresh:
                conversation = await self._services.delivery.current(cid)
            else:
                conversation = await self._services.conversations.get_conversation(cid)
        except NotFound:
            self._retries.succeeded(cid)
            return
        except Exception:
            logger.warning(
                "could not read conversation %s to retry its delivery; next try in %.1f s",
                cid,
                self._failed(cid),
                exc_info=True,
            )
            return
        await self._deliver_or_retry(conversation, (), delayed=True)
        for member in conversation.members:
            await self._deliver_or_retry(conversation, (), delayed=True, recipient=member.agent_id)
        if not fresh:
            return
        # Another process stored it: those who left meanwhile are owed their part too.
        try:
            behind = await self._services.delivery.members_behind(conversation)
        except Exception:
            logger.warning(
                "could not read who left conversation %s; next try in %.1f s",
                cid,
                self._failed(cid),
                exc_info=True,
            )
            return
        for delivery in behind:
            await self._deliver_or_retry(
                conversation,
                delivery.events,
                delayed=True,
                recipient=delivery.agent_id,
                watching=delivery.role is MemberRole.MONITOR,
            )

    def _failed(self, cid: ConversationId) -> float:
        """Schedule the next try of a failed delivery; returns in how many seconds."""
        now = asyncio.get_running_loop().time()
        due = self._retries.failed(cid, now)
        self._retry_wake.set()
        return due - now
