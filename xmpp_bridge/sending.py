"""One conversation event to its agent: as it is, alone if it is a suspect, or a notice
in its place if it is parked (see ``xmpp_bridge.parking``)."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence

from business.batching import Batcher
from business.conversation import Conversation
from business.events import StoredEvent
from business.history import HistoryService
from business.model import AgentId, ConversationId
from xmpp_bridge import texts
from xmpp_bridge.converters import is_offer
from xmpp_bridge.custom import AgentOffer, ConversationUpdate, Outbound, TextReply
from xmpp_bridge.i18n import TenantLanguages
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.parking import Key, Refusals

logger = logging.getLogger(__name__)

_MAX_OFFER_READS = 200
"""Offers whose history is read in one go at most."""


class _Sent(enum.Enum):
    OK = enum.auto()
    LOST = enum.auto()
    """The link is down or is not the session this delivery started on."""
    PARKED = enum.auto()
    """Refused before sending; a notice goes in its place."""


class EventSender:
    """Sends the events ``XmppAgentNotifier`` hands it, minding ``refusals``.

    A suspect goes out alone: everything sent before it is confirmed first, and it is
    confirmed before anything else goes (``confirm``: a ping round trip on the link
    session ``generation``). An event the link refuses as too large is parked at once.
    A parked event is replaced by a notice; if the link refuses that too (an absurd
    address), the event is parked without one.
    """

    def __init__(
        self,
        *,
        history: HistoryService,
        link: Link,
        refusals: Refusals,
        confirm: Callable[[int], Awaitable[bool]],
        on_sent: Callable[[Outbound], None] | None = None,
        languages: TenantLanguages | None = None,
    ) -> None:
        self._history = history
        self._languages = languages
        """The tenant's language of agents' notices; None: English."""
        # The history an offer carries: read for many offers at once when many chats
        # are routed at once (a thousand visitors starting together).
        self._earlier: Batcher[tuple[ConversationId, int], Sequence[StoredEvent]] = Batcher(
            history.histories, max_batch=_MAX_OFFER_READS
        )
        self._link = link
        self._refusals = refusals
        self._confirm = confirm
        self._on_sent = on_sent
        """Told of each item handed to the link (the chat markers remember its ids)."""
        # Held while a suspect event is on its way alone; other events wait for it.
        self._alone = asyncio.Lock()

    async def send(
        self,
        conversation: Conversation,
        to: str,
        event: StoredEvent,
        late: bool,
        generation: int,
        recipient: AgentId | None = None,
        watching: bool = False,
    ) -> bool:
        """Send one event, or a notice in its place if it is parked; False if the link
        is gone (nothing is then known to have arrived). ``recipient``: the member it is
        for (None: the conversation's own agent)."""
        key = (conversation.id, event.pos)
        reason = self._refusals.parked(key)
        if reason is None:
            item = await self._outbound(conversation, to, event, late, recipient, watching)
            if self._refusals.is_suspect(key):
                outcome = await self._send_alone(key, item, generation)
            else:
                if self._alone.locked():
                    # A suspect is on its way alone: nothing else may be unconfirmed
                    # with it, or a drop would not tell which stanza caused it.
                    async with self._alone:
                        pass
                outcome = self._send(key, item, generation)
            if outcome is not _Sent.PARKED:
                return outcome is _Sent.OK
            reason = texts.TOO_LARGE_FOR_THE_SERVER
        if self._link.generation != generation:
            return False
        notice = TextReply(
            sender=self._link.addressing.conversation_jid(conversation.id),
            to=to,
            text=texts.undeliverable(reason),
            stanza_id=f"{conversation.id}-{event.pos}-undelivered",
        )
        try:
            return self._link.send(notice)
        except StanzaTooLarge as exc:
            # Only an absurd address makes a notice too large; retrying cannot help.
            logger.warning(
                "conversation %s: pos %d is parked without a notice to the agent, which "
                "cannot be sent either (%s)",
                conversation.id,
                event.pos,
                exc,
            )
            return True

    def try_send(
        self, conversation: Conversation, to: str, event: StoredEvent, generation: int
    ) -> bool | None:
        """``send`` without waiting, for an event that needs nothing ``send`` could wait
        for: True sent, False the link is gone; None, nothing sent, when it is not like
        that (an offer, which carries history; a parked or suspect event; a suspect on
        its way alone; an event the link refuses, parked now): use ``send``."""
        key = (conversation.id, event.pos)
        if (
            self._alone.locked()
            or is_offer(event, conversation)
            or self._refusals.parked(key) is not None
            or self._refusals.is_suspect(key)
        ):
            return None
        language = "en"
        if self._languages is not None:
            cached = self._languages.cached(conversation.tenant_id)
            if cached is None:
                return None  # ``send`` reads it first
            language = cached
        item = ConversationUpdate(
            conversation=conversation, to=to, event=event, delayed=False, language=language
        )
        outcome = self._send(key, item, generation)
        if outcome is _Sent.PARKED:
            return None
        return outcome is _Sent.OK

    def _send(self, key: Key, item: Outbound, generation: int) -> _Sent:
        if self._link.generation != generation:
            return _Sent.LOST
        try:
            if not self._link.send(item):
                return _Sent.LOST
        except StanzaTooLarge as exc:
            self._refusals.park(key, texts.TOO_LARGE_FOR_THE_SERVER)
            logger.warning(
                "conversation %s: pos %d cannot be sent to the agent (%s); parked",
                key[0],
                key[1],
                exc,
            )
            return _Sent.PARKED
        self._refusals.sent(key)
        if self._on_sent is not None:
            self._on_sent(item)
        return _Sent.OK

    async def _send_alone(self, key: Key, item: Outbound, generation: int) -> _Sent:
        """Send a suspect with nothing else unconfirmed around it: if the link drops
        before the ping after it comes back, it was in flight alone."""
        async with self._alone:
            if self._refusals.unconfirmed and not await self._confirm(generation):
                return _Sent.LOST
            outcome = self._send(key, item, generation)
            if outcome is _Sent.OK and not await self._confirm(generation):
                return _Sent.LOST
            return outcome

    async def _outbound(
        self,
        conversation: Conversation,
        to: str,
        event: StoredEvent,
        late: bool,
        recipient: AgentId | None,
        watching: bool = False,
    ) -> Outbound:
        language = "en"
        if self._languages is not None:
            language = await self._languages.load(conversation.tenant_id)
        if is_offer(event, conversation, recipient):
            earlier = await self._earlier.submit((conversation.id, event.pos))
            return AgentOffer(
                conversation=conversation,
                to=to,
                offer=event,
                earlier=earlier,
                delayed=late,
                recipient=recipient,
                language=language,
            )
        return ConversationUpdate(
            conversation=conversation,
            to=to,
            event=event,
            delayed=late,
            recipient=recipient,
            watching=watching,
            language=language,
        )
