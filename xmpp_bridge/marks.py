"""What agents' clients send about messages rather than as messages: XEP-0308
corrections, XEP-0333 ``displayed`` markers and XEP-0184 receipts (see
``xmpp_bridge.inbound`` for the edge's error mapping, which these share)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable

from business.commands import CorrectAgentMessage, MarkAgentRead
from business.model import Agent, new_id
from business.services import Services
from xmpp_bridge.converters import loggable
from xmpp_bridge.custom import (
    AgentCorrection,
    AgentDisplayed,
    DeliveryConfirmed,
    Origin,
    Payload,
    Receipt,
    Received,
)
from xmpp_bridge.link import Link, StanzaTooLarge
from xmpp_bridge.markers import MarkerBook

logger = logging.getLogger(__name__)

Mark = AgentCorrection | AgentDisplayed | DeliveryConfirmed
Quiet = AgentDisplayed | DeliveryConfirmed
"""Sent by clients on their own: a refusal is logged, never answered."""


def mark_lane(received: Received) -> Hashable | None:
    """The inbound lane of a mark (None: not a mark). A correction keeps its order with
    the agent's messages in the conversation; a marker never waits behind them (nor
    holds them up); receipts go with the agent's other stanzas."""
    address = received.origin.address
    match received.payload:
        case AgentCorrection(conversation_id=cid):
            return (address, cid)
        case AgentDisplayed(conversation_id=cid):
            return (address, cid, "markers")
        case DeliveryConfirmed():
            return address
        case _:
            return None


class AgentMarks:
    def __init__(self, *, services: Services, link: Link, markers: MarkerBook) -> None:
        self._services = services
        self._link = link
        self._markers = markers

    async def handle(
        self,
        origin: Origin,
        mark: Mark,
        agent_of: Callable[[Origin, Payload], Awaitable[Agent]],
    ) -> None:
        match mark:
            case AgentCorrection(conversation_id=cid, replaces=replaces, text=text):
                agent = await agent_of(origin, mark)
                await self._services.corrections.correct_agent_message(
                    CorrectAgentMessage(
                        agent_id=agent.id, conversation_id=cid, replaces=replaces, text=text
                    )
                )
                if origin.receipt_requested:
                    self._send(Receipt(origin=origin, stanza_id=new_id()))
            case AgentDisplayed(conversation_id=cid, marked_id=marked_id):
                up_to_seq = self._markers.read_by_agent(cid, marked_id)
                if up_to_seq is None:
                    return
                agent = await agent_of(origin, mark)
                await self._services.read_markers.mark_read_by_agent(
                    MarkAgentRead(agent_id=agent.id, conversation_id=cid, up_to_seq=up_to_seq)
                )
                self._markers.forwarded(cid, up_to_seq)
            case DeliveryConfirmed(conversation_id=cid, confirmed_id=confirmed_id):
                # Delivery is confirmed by echoes on the link (xmpp_bridge.cursors); a
                # receipt says the client got it too, which helps when reading logs.
                logger.debug(
                    "conversation %s: %s confirmed receiving %s",
                    cid,
                    origin.address,
                    loggable(confirmed_id),
                )

    def _send(self, receipt: Receipt) -> None:
        try:
            self._link.send(receipt)
        except StanzaTooLarge as exc:
            logger.warning("did not send a receipt: %s", exc)
