"""Presence subscriptions between agents and queue JIDs, and availability from presence.

slixmpp's in-memory roster is switched off (see ``component``): after a restart it
would answer an agent's probe with ``unsubscribed`` and cancel the subscription. The
state lives in the database (``xmpp_bridge.subscriptions``) instead, and every (re)connect
re-announces it, because the server forgets the component's presence when it goes.
"""

from __future__ import annotations

import logging

from business.commands import SetAgentAvailability
from business.model import Agent, AgentId, QueueName
from business.services import Services
from xmpp_bridge.custom import (
    PresenceKind,
    QueuePresence,
    ResourcePresence,
    Show,
    SubscriptionKind,
    SubscriptionStanza,
)
from xmpp_bridge.link import Link
from xmpp_bridge.presence import PresenceBook
from xmpp_bridge.subscriptions import SubscriptionStore

logger = logging.getLogger(__name__)

_AVAILABLE = frozenset({Show.AVAILABLE, Show.CHAT})
"""Presence that says "I am here" (how a Not responding agent comes back), whatever
another resource says."""


class QueueRoster:
    """Answers subscriptions and probes at queue JIDs and turns presence into availability.

    Only configured agents may subscribe, each to the queues of their own tenant they
    belong to (a queue JID names the queue of that name in the sender's tenant:
    ``xmpp_bridge.tenancy``); anybody else gets ``unsubscribed``. Availability is
    written only when an agent's aggregate readiness changes, and is re-learned after
    every reconnect: agents who were ready but do not answer the probe in time are set
    not ready.
    """

    def __init__(self, *, services: Services, link: Link, away_is_ready: bool) -> None:
        self._agents = services.agents
        self._subscriptions = SubscriptionStore(services.adapter_state)
        self._link = link
        self._book = PresenceBook(away_is_ready=away_is_ready)
        self._unconfirmed: set[AgentId] = set()

    # -- inbound ----------------------------------------------------------------------

    async def handle_subscription(self, stanza: SubscriptionStanza) -> None:
        address, queue = stanza.address, stanza.queue
        agent = await self._agent_in_queue(address, queue)
        if agent is None:
            if stanza.kind in (SubscriptionKind.SUBSCRIBE, SubscriptionKind.PROBE):
                logger.info("refusing %s from %s to queue %s", stanza.kind, address, queue)
                self._send(queue, address, PresenceKind.UNSUBSCRIBED)
            return
        subs = self._subscriptions
        sub = await subs.get(address, queue)
        match stanza.kind:
            case SubscriptionKind.SUBSCRIBE:
                await subs.update(sub, agent_sees_queue=True)
                self._send(queue, address, PresenceKind.SUBSCRIBED)
                self._send(queue, address, PresenceKind.AVAILABLE)
                if not sub.queue_sees_agent:
                    self._send(queue, address, PresenceKind.SUBSCRIBE)
            case SubscriptionKind.SUBSCRIBED:
                await subs.update(sub, queue_sees_agent=True)
                # The server usually sends the agent's presence by itself; a probe makes
                # sure, and costs one stanza.
                self._send(queue, address, PresenceKind.PROBE)
            case SubscriptionKind.UNSUBSCRIBE:
                await subs.update(sub, agent_sees_queue=False)
                self._send(queue, address, PresenceKind.UNAVAILABLE)
            case SubscriptionKind.UNSUBSCRIBED:
                await subs.update(sub, queue_sees_agent=False)
                await self._lost_sight(agent, queue)
            case SubscriptionKind.PROBE:
                # A server probes only contacts its user is subscribed to: if the
                # database forgot (restored backup, new install), believe the server.
                await subs.update(sub, agent_sees_queue=True)
                self._send(queue, address, PresenceKind.AVAILABLE)

    async def handle_presence(self, presence: ResourcePresence) -> None:
        agent = await self._agent_in_queue(presence.address, presence.queue)
        if agent is None:
            return
        self._unconfirmed.discard(agent.id)
        ready = self._book.update(agent.id, presence.resource, presence.show)
        if ready is None and not agent.ready and presence.show in _AVAILABLE:
            # Available again while the engine holds them not ready (an offer they let
            # time out): available presence is how an agent says they are back.
            ready = True
        if ready is not None:
            await self._agents.set_availability(
                SetAgentAvailability(agent_id=agent.id, ready=ready)
            )

    # -- link lifecycle -----------------------------------------------------------------

    async def on_connected(self) -> None:
        """Re-announce the queues, re-learn presence, re-request missing subscriptions.

        The server dropped the queues' presence and bounced the agents' presence while
        the link was down, so nothing remembered about either can be trusted.
        """
        self._book.clear()
        # Every tenant's: one component serves them all.
        agents = await self._agents.list_agents()
        subs = {(s.address, s.queue): s for s in await self._subscriptions.list()}
        self._unconfirmed = {a.id for a in agents if a.ready}
        for agent in agents:
            for queue in agent.queues:
                sub = subs.get((agent.address, queue))
                if sub is not None and sub.agent_sees_queue:
                    self._send(queue, agent.address, PresenceKind.AVAILABLE)
                if sub is not None and sub.queue_sees_agent:
                    self._send(queue, agent.address, PresenceKind.PROBE)
                else:
                    self._send(queue, agent.address, PresenceKind.SUBSCRIBE)

    async def expire_unconfirmed(self) -> None:
        """Set not ready every agent who was ready at connect and has not been heard from."""
        stale, self._unconfirmed = self._unconfirmed, set()
        for agent_id in sorted(stale):
            logger.info("agent %s did not answer the presence probe: not ready", agent_id)
            await self._agents.set_availability(
                SetAgentAvailability(agent_id=agent_id, ready=False)
            )

    def on_disconnected(self) -> None:
        self._book.clear()
        self._unconfirmed.clear()

    async def on_stopping(self) -> None:
        """Tell subscribed agents the queues are going offline."""
        agents = {a.address: a for a in await self._agents.list_agents()}
        for sub in await self._subscriptions.list():
            agent = agents.get(sub.address)
            if sub.agent_sees_queue and agent is not None and sub.queue in agent.queues:
                self._send(sub.queue, sub.address, PresenceKind.UNAVAILABLE)

    # -- helpers ----------------------------------------------------------------------

    async def _agent_in_queue(self, address: str, queue: QueueName) -> Agent | None:
        """The agent at ``address`` if ``queue`` is one of theirs: ``agent.queues`` are
        queues of their own tenant, so another tenant's queue of that name is never it."""
        agent = await self._agents.find_agent(address)
        if agent is None or queue not in agent.queues:
            return None
        return agent

    async def _lost_sight(self, agent: Agent, queue: QueueName) -> None:
        """The queue may no longer see the agent's presence: if no other queue of theirs
        does either, their availability is unknown, and unknown is not ready."""
        for other in agent.queues:
            if (
                other != queue
                and (await self._subscriptions.get(agent.address, other)).queue_sees_agent
            ):
                return
        self._book.forget(agent.id)
        await self._agents.set_availability(SetAgentAvailability(agent_id=agent.id, ready=False))

    def _send(self, queue: QueueName, address: str, kind: PresenceKind) -> None:
        self._link.send(QueuePresence(queue=queue, to=address, kind=kind))
