"""What goes to agents now or never, never stored nor replayed: the visitor typing, and
the end of an offer to the agent who did not take it, with the conversation's presence
taken back (the chat may have nobody to deliver to by then). Also the cache of where
each agent is reached."""

from __future__ import annotations

import logging

from business.agents import AgentService
from business.conversation import Conversation
from business.events import OfferClosed, TypingChanged
from business.model import AgentId, ConversationState, OfferKind, ParticipantKind
from xmpp_bridge import texts
from xmpp_bridge.custom import ConversationPresence, Outbound, TextReply, VisitorTyping
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.markers import Ephemeral, MarkerBook, send_displayed

logger = logging.getLogger(__name__)


class AgentAddresses:
    """Agents' addresses by id, read once: an agent keeps their address for good."""

    def __init__(self, agents: AgentService) -> None:
        self._agents = agents
        self._known: dict[AgentId, str] = {}

    def known(self, agent_id: AgentId) -> str | None:
        """The address if it was read before; None otherwise (without reading it)."""
        return self._known.get(agent_id)

    async def of(self, agent_id: AgentId) -> str | None:
        """Where the agent is reached; None for an unknown agent."""
        known = self._known.get(agent_id)
        if known is not None:
            return known
        agent = await self._agents.get_agent(agent_id)
        if agent is None:
            return None
        self._known[agent.id] = agent.address
        return agent.address


class LiveNotices:
    def __init__(self, *, link: Link, addresses: AgentAddresses, markers: MarkerBook) -> None:
        self._link = link
        self._addresses = addresses
        self._markers = markers

    async def ephemeral(self, conversation: Conversation, event: Ephemeral) -> None:
        """The visitor's typing, to the conversation's own agent (the agent's own comes
        back here too, which must not be echoed), or the visitor's read marks, as
        ``displayed`` markers to the agents whose messages they read."""
        if not isinstance(event, TypingChanged):
            await send_displayed(self._markers, self._link, conversation, event, self._addresses.of)
            return
        desk = conversation.desk_agent_id
        if (
            event.sender.kind is ParticipantKind.VISITOR
            and conversation.state is ConversationState.ACTIVE
            and desk is not None
            and (to := await self._addresses.of(desk)) is not None
        ):
            item = VisitorTyping(conversation=conversation, to=to, composing=event.composing)
            try:
                self._link.send(item)
            except StanzaTooLarge as exc:
                logger.warning("conversation %s: typing not sent: %s", conversation.id, exc)

    async def offer_closed(self, conversation: Conversation, event: OfferClosed) -> None:
        """Tell the agent an offer to them ended without them, then take the
        conversation's presence back (it came with the offer)."""
        routed = event.kind is OfferKind.ROUTE
        text = texts.offer_closed(event.outcome.value, None, routed=routed)
        agent_id = event.agent.id
        to = None if agent_id is None else await self._addresses.of(AgentId(agent_id))
        if to is None or not self._link.connected:
            return
        items: list[Outbound] = []
        if text is not None:  # a decline was answered where it was typed
            items.append(
                TextReply(
                    sender=self._link.addressing.conversation_jid(conversation.id),
                    to=to,
                    text=text,
                    stanza_id=f"{conversation.id}-{event.pos}",
                )
            )
        items.append(ConversationPresence(conversation=conversation, to=to, available=False))
        for item in items:
            try:
                self._link.send(item)
            except StanzaTooLarge as exc:
                logger.warning("conversation %s: offer notice not sent: %s", conversation.id, exc)
