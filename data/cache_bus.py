"""Cache invalidation across engine processes: PostgreSQL NOTIFY and LISTEN.

Each ``Database`` caches committed rows (``data.cache``) and drops what its own units
of work write. With several engine processes on one PostgreSQL database, a unit of work
that wrote a cached kind (tenants, agents, an agent's address, webhook subscriptions,
redaction settings) also sends, inside its transaction, one ``pg_notify`` naming the
keys; PostgreSQL delivers it at COMMIT and only then (never for a rollback, never
before the rows are visible), to every process that listens on ``CHANNEL``. Each
``Database`` listens on a connection of its own (``CacheListener``) and drops the named
keys from its caches, so another process's change is seen within the notification's
trip (milliseconds) instead of the cache's ``ttl``. Conversations are not announced:
one is written by nearly every message, and a stale cached copy is caught by the
compare-and-set of ``SqlConversationRepository.save`` (see ``docs/architecture.md``).

The payload is ``<schema> <json>``: engines (and tests) that share a database but not a
schema ignore each other's, and a process ignores its own (its ``Caches.origin``).
While the listening connection is lost, notifications are missed: the caches are
emptied when it comes back, and until then ``ttl`` bounds how stale a read may be.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from business.model import AgentId, TenantId
from data.cache import Caches
from data.pg_listener import RECONNECT_DELAY, PgListener

logger = logging.getLogger(__name__)

CHANNEL = "chat_engine_cache"
MAX_PAYLOAD = 7000
"""PostgreSQL refuses payloads of 8000 bytes or more: past this, "drop everything"."""

NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', current_schema() || ' ' || :payload)")


def invalidation_payload(
    caches: Caches,
    *,
    tenants: Iterable[TenantId],
    agents: Iterable[AgentId],
    addresses: Iterable[str],
    webhook_tenants: Iterable[TenantId],
    redaction_tenants: Iterable[TenantId],
) -> str | None:
    """The JSON that names what a unit of work wrote, or None when it wrote nothing
    cached."""
    keys = {
        "t": sorted(tenants),
        "a": sorted(agents),
        "x": sorted(addresses),
        "w": sorted(webhook_tenants),
        "r": sorted(redaction_tenants),
    }
    if not any(keys.values()):
        return None
    payload = json.dumps({"o": caches.origin, **keys}, separators=(",", ":"))
    if len(payload.encode()) > MAX_PAYLOAD:
        payload = json.dumps({"o": caches.origin, "all": True}, separators=(",", ":"))
    return payload


def apply_invalidation(caches: Caches, message: dict[str, Any]) -> None:
    """Drop from ``caches`` what another process's ``message`` names."""
    if message.get("all"):
        caches.clear()
        return
    if keys := message.get("t"):
        caches.tenants.invalidate(TenantId(k) for k in keys)
    if keys := message.get("a"):
        caches.agents.invalidate(AgentId(k) for k in keys)
    if keys := message.get("x"):
        caches.agent_ids.invalidate(keys)
    if keys := message.get("w"):
        caches.webhooks.invalidate(TenantId(k) for k in keys)
    if keys := message.get("r"):
        caches.redaction.invalidate(TenantId(k) for k in keys)


class CacheListener:
    """Listens on ``CHANNEL`` (``data.pg_listener``) and applies what other processes of
    the same schema announce; empties the caches at every (re)connection."""

    def __init__(
        self, engine: AsyncEngine, caches: Caches, *, reconnect_delay: float = RECONNECT_DELAY
    ) -> None:
        self._caches = caches
        self._listener = PgListener(
            engine,
            CHANNEL,
            on_body=self._on_body,
            # Whatever was cached while nobody listened may have changed meanwhile.
            on_connected=caches.clear,
            reconnect_delay=reconnect_delay,
        )
        self.received = 0
        """Notifications of other processes applied (for tests and metrics)."""

    @property
    def listening(self) -> bool:
        return self._listener.listening

    @property
    def server_pid(self) -> int | None:
        """The PostgreSQL backend of the listening connection, while there is one."""
        return self._listener.server_pid

    async def start(self) -> None:
        """Listen from now on; returns once the first connection listens (or the first
        attempt failed: it keeps trying in the background)."""
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    def _on_body(self, body: str) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            logger.warning("cache invalidation: unreadable payload %r", body[:200])
            return
        if message.get("o") == self._caches.origin:
            return  # this process dropped its own writes already
        apply_invalidation(self._caches, message)
        self.received += 1
