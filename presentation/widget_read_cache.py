"""Short-lived caches of what the widget's public reads answer
(``presentation.visitor_widget_api``): every page view of every tenant's sites asks for
the configuration, and every trigger marked "only if agents are available" for the
availability, so without them each page view is a database read.

- The configuration's encoded body and ETag per tenant, for ``widget_config_cache_seconds``
  (15 by default); a ``put`` in this process forgets the tenant's at once
  (``WidgetConfigService.on_change``), another process's within the TTL (browsers and
  CDNs keep it a minute anyway).
- The availability per (tenant, queue), for ``widget_availability_cache_seconds`` (3 by
  default): it changes as agents come and go, and a probability a few seconds old is as
  good a guess.

A TTL of 0 reads every time.

Plain ``TTLCache`` mappings; a refill holds a per-key lock so that a burst of page views
costs one read, not one each.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Final

from cachetools import TTLCache

from business.locks import KeyedLock
from business.model import QueueName, TenantId
from business.services import Services
from business.widget_config import effective_document

MAX_KEYS: Final = 10_000


class WidgetReadCache:
    def __init__(
        self,
        services: Services,
        *,
        config_ttl: float,
        availability_ttl: float,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        # cachetools keeps an entry with ttl 0 until the clock moves: no cache at all.
        self._config_ttl = config_ttl
        self._availability_ttl = availability_ttl
        self._configs: TTLCache[TenantId, tuple[bytes, str]] = TTLCache(
            maxsize=MAX_KEYS, ttl=config_ttl or 1, timer=timer
        )
        self._availability: TTLCache[tuple[TenantId, QueueName], float] = TTLCache(
            maxsize=MAX_KEYS, ttl=availability_ttl or 1, timer=timer
        )
        self._locks = KeyedLock()
        self._changes = 0
        services.widget_configs.on_change(self.forget_config)

    def forget_config(self, tenant_id: TenantId) -> None:
        self._configs.pop(tenant_id, None)
        # A refill that read before this change must not store what it read.
        self._changes += 1

    async def config(self, tenant_id: TenantId) -> tuple[bytes, str]:
        """The tenant's effective configuration as JSON and its ETag; ``NotFound`` for an
        unknown tenant (not cached: an unknown tenant costs its asker rate budget)."""
        if (hit := self._configs.get(tenant_id)) is not None:
            return hit
        async with self._locks.hold(("config", tenant_id)):
            if (hit := self._configs.get(tenant_id)) is not None:
                return hit
            changes = self._changes
            stored = await self._services.widget_configs.get(tenant_id)
            body = json.dumps(
                effective_document(stored.document), separators=(",", ":"), sort_keys=True
            ).encode()
            entry = (body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
            if changes == self._changes and self._config_ttl:
                self._configs[tenant_id] = entry
            return entry

    async def availability(self, tenant_id: TenantId, queue: QueueName) -> float:
        key = (tenant_id, queue)
        if (hit := self._availability.get(key)) is not None:
            return hit
        async with self._locks.hold(("availability", key)):
            if (hit := self._availability.get(key)) is not None:
                return hit
            probability = await self._services.widget_configs.availability(tenant_id, queue)
            if self._availability_ttl:
                self._availability[key] = probability
            return probability
