"""Agents' availability from the presence of their resources."""

from __future__ import annotations

from business.model import AgentId
from xmpp_bridge.custom import Show

_READY = {Show.AVAILABLE, Show.CHAT}


def is_ready(show: Show | None, *, away_is_ready: bool) -> bool:
    """No ``<show/>`` or ``chat`` is ready; ``away`` only if configured (clients go away
    by themselves after a few idle minutes); ``xa``, ``dnd`` and unavailable are not."""
    if show is None:
        return False
    return show in _READY or (show is Show.AWAY and away_is_ready)


class PresenceBook:
    """Presence per resource of each agent, aggregated per bare JID.

    An agent is ready when any of their resources is ready: a phone set to away must
    not hide the desktop client that is online. ``update`` reports the aggregate only
    when it differs from what it last reported for that agent (or was never reported
    since the last ``clear``), so callers write availability only on real changes.
    """

    def __init__(self, *, away_is_ready: bool) -> None:
        self._away_is_ready = away_is_ready
        self._resources: dict[AgentId, dict[str, Show]] = {}
        self._reported: dict[AgentId, bool] = {}

    def update(self, agent_id: AgentId, resource: str, show: Show | None) -> bool | None:
        """Record one resource's presence; the new readiness if it changed, else None.

        ``show`` None is unavailable; with an empty ``resource`` it clears every
        resource (a server's answer to a probe of an account that is offline).
        """
        resources = self._resources.setdefault(agent_id, {})
        if show is not None:
            resources[resource] = show
        elif resource:
            resources.pop(resource, None)
        else:
            resources.clear()
        if not resources:
            del self._resources[agent_id]
        ready = self.ready(agent_id)
        if self._reported.get(agent_id) == ready:
            return None
        self._reported[agent_id] = ready
        return ready

    def ready(self, agent_id: AgentId) -> bool:
        return any(
            is_ready(show, away_is_ready=self._away_is_ready)
            for show in self._resources.get(agent_id, {}).values()
        )

    def forget(self, agent_id: AgentId) -> None:
        """Drop everything known about one agent (e.g. the queue lost their presence)."""
        self._resources.pop(agent_id, None)
        self._reported.pop(agent_id, None)

    def clear(self) -> None:
        """Forget everything: after the link was down, nothing here can be trusted."""
        self._resources.clear()
        self._reported.clear()
