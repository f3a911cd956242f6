"""The short notice an agent gets when the visitor of their chat goes to another page
(``business.events.VisitorMoved``): "The visitor moved to: Checkout - https://…".

Coalesced per conversation: the first move starts a wait of ``delay`` seconds, moves
during it only replace the page, and one notice with the newest page goes at its end, so
a visitor clicking through a few pages (or a single-page app changing its address as it
loads) is one line in the chat, not many. Now or never, like typing: a notice the link
cannot take is dropped (the page stays in the context, and ``!info`` shows it).
"""

from __future__ import annotations

import asyncio
import logging

from business.conversation import Conversation
from business.events import VisitorMoved
from business.model import ConversationId, ConversationState
from xmpp_bridge.custom import TextReply
from xmpp_bridge.i18n import TenantLanguages, notices_for
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.live_notices import AgentAddresses

logger = logging.getLogger(__name__)

_TOLD = (ConversationState.ACTIVE, ConversationState.ON_HOLD)
"""States in which the chat has an agent of its own to tell."""


class PageNotices:
    def __init__(
        self,
        *,
        link: Link,
        addresses: AgentAddresses,
        delay: float,
        languages: TenantLanguages | None = None,
    ) -> None:
        self._link = link
        self._languages = languages
        """The tenant's language of the notice; None: English."""
        self._addresses = addresses
        self._delay = delay
        self._pending: dict[ConversationId, tuple[Conversation, VisitorMoved]] = {}

    def moved(self, conversation: Conversation, event: VisitorMoved) -> bool:
        """Note the newest page; True when this move starts a wait (then run ``flush``
        for the conversation), False when one is running already or nobody is told."""
        if conversation.state not in _TOLD or conversation.agent_id is None:
            return False
        first = conversation.id not in self._pending
        self._pending[conversation.id] = (conversation, event)
        return first

    async def flush(self, conversation_id: ConversationId) -> None:
        """After the wait: the newest page to the conversation's agent."""
        await asyncio.sleep(self._delay)
        pending = self._pending.pop(conversation_id, None)
        if pending is None:
            return
        conversation, event = pending
        agent_id = conversation.agent_id
        to = None if agent_id is None else await self._addresses.of(agent_id)
        if to is None or not self._link.connected:
            return
        language = "en"
        if self._languages is not None:
            language = await self._languages.load(conversation.tenant_id)
        item = TextReply(
            sender=self._link.addressing.conversation_jid(conversation.id),
            to=to,
            text=notices_for(language).visitor_moved(event.title, event.url),
        )
        try:
            self._link.send(item)
        except StanzaTooLarge as exc:
            logger.warning("conversation %s: page notice not sent: %s", conversation.id, exc)
