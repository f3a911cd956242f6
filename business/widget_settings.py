"""Reading and changing a tenant's widget configuration (``business.widget_config``), and
whether a queue can take a chat now (what "only if agents are available" asks)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from business.errors import NotFound
from business.model import QueueName, TenantId
from business.ports import Clock
from business.routing import agent_loads
from business.transactions import Transactions
from business.validation import check_queue_name
from business.widget_config import WidgetConfig, default_config, validate_document

logger = logging.getLogger(__name__)


class WidgetConfigService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock
        self._listeners: list[Callable[[TenantId], None]] = []

    def on_change(self, listener: Callable[[TenantId], None]) -> None:
        """Call ``listener(tenant_id)`` after each ``put`` of this process commits (what
        keeps a cache of the configuration current)."""
        self._listeners.append(listener)

    async def get(self, tenant_id: TenantId) -> WidgetConfig:
        """The tenant's configuration, or the default when none is stored; ``NotFound``
        for an unknown tenant."""
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            stored = await tx.widget_configs.get(tenant_id)
        return stored or default_config(tenant_id)

    async def put(self, tenant_id: TenantId, document: object) -> WidgetConfig:
        """Replace the tenant's configuration with ``document`` once it is valid
        (``validate_document``: ``InvalidInput`` naming the problem, nothing stored);
        returns it as stored."""
        validated = validate_document(document)
        config = WidgetConfig(tenant_id=tenant_id, document=validated, updated_at=self._clock.now())
        async with self._tx() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            await tx.widget_configs.put(config)
            await tx.commit()
        for listener in self._listeners:
            listener(tenant_id)
        logger.info(
            "tenant %s: widget configuration saved (%s, %s, %d triggers)",
            tenant_id,
            "active" if validated["active"] else "maintenance",
            validated["mode"],
            len(validated["triggers"]),  # type: ignore[arg-type]
        )
        return config

    async def availability(self, tenant_id: TenantId, queue: QueueName) -> float:
        """The probability that a chat started in ``queue`` now is answered soon: 1 when
        its qualified ready agents have more free places than conversations wait in it
        without an offer, else 0 (also for an unknown tenant or queue: nobody there
        answers). A real number, so traffic can be shaped later without changing what
        clients ask.

        An offered chat stays queued but already takes a place of the agent's capacity
        (``agent_loads``), so it is not counted as waiting too."""
        name = check_queue_name(queue)
        async with self._tx.read() as tx:
            settings = await tx.queues.get(tenant_id, name)
            if settings is None:
                return 0.0
            if (hours := settings.opening_hours) and not hours.is_open(self._clock.now()):
                return 0.0  # closed: a start would be refused (``QueueClosed``)
            agents = [
                a
                for a in await tx.agents.list_for_queue(tenant_id, name)
                if a.qualifies(settings.skills)
            ]
            loads = await agent_loads(tx, tenant_id, agents)
            free = sum(max(0, a.max_chats - loads.get(a.id, 0)) for a in agents if a.ready)
            if free == 0:
                return 0.0
            # As the router reads it: open offers are at most the places the loads
            # count, so this head of the queue holds every offered chat plus ``free``
            # unoffered ones if there are that many; the read stays bounded by capacity.
            queued = await tx.conversations.list_queued(
                tenant_id, name, limit=free + sum(loads.values())
            )
        waiting = sum(1 for conversation in queued if conversation.offered_to is None)
        return 1.0 if free > waiting else 0.0
