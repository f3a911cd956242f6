"""Tenants and their queues."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from business import commands as c
from business.errors import AlreadyExists, InvalidInput, NotFound
from business.model import DEFAULT_QUEUE, Queue, QueueName, Tenant, TenantId
from business.ports import Clock
from business.queue_settings import QueueSettingsService
from business.transactions import Transactions
from business.validation import (
    check_queue_name,
    check_tenant_id,
    check_tenant_name,
)

logger = logging.getLogger(__name__)

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class TenantService:
    def __init__(
        self,
        *,
        transactions: Transactions,
        clock: Clock,
        queue_settings: QueueSettingsService | None = None,
    ) -> None:
        self._tx = transactions
        self._clock = clock
        self._queue_settings = queue_settings or QueueSettingsService(transactions=transactions)

    async def ensure_tenant(
        self,
        tenant_id: TenantId,
        *,
        name: str,
        queues: Sequence[QueueName] = (DEFAULT_QUEUE,),
    ) -> Tenant:
        """Create the tenant and its queues if missing (used at start-up for the default)."""
        async with self._tx() as tx:
            tenant = await tx.tenants.get(tenant_id)
            if tenant is None:
                tenant = Tenant(id=tenant_id, name=name, created_at=self._clock.now())
                await tx.tenants.add(tenant)
            for queue in queues:
                check_queue_name(queue)
                if await tx.queues.get(tenant_id, queue) is None:
                    await tx.queues.add(Queue(tenant_id=tenant_id, name=queue, title=queue.title()))
            await tx.commit()
        return tenant

    async def create_tenant(self, cmd: c.CreateTenant) -> Tenant:
        """A new tenant with the default queue, as the default tenant has. Its id is
        ``cmd.tenant_id`` or else made from the name (``Northwind Coffee`` ->
        ``northwind-coffee``); ``AlreadyExists`` if it is taken."""
        name = check_tenant_name(cmd.name)
        tenant_id = check_tenant_id(cmd.tenant_id or _slug(name))
        tenant = Tenant(id=tenant_id, name=name, created_at=self._clock.now())
        async with self._tx() as tx:
            if await tx.tenants.get(tenant_id) is not None:
                raise AlreadyExists(f"tenant {tenant_id!r} exists already")
            await tx.tenants.add(tenant)
            await tx.queues.add(
                Queue(tenant_id=tenant_id, name=DEFAULT_QUEUE, title=DEFAULT_QUEUE.title())
            )
            await tx.commit()
        logger.info("tenant %s created", tenant_id)
        return tenant

    async def get_tenant(self, tenant_id: TenantId) -> Tenant:
        async with self._tx.read() as tx:
            tenant = await tx.tenants.get(tenant_id)
        if tenant is None:
            raise NotFound(f"unknown tenant {tenant_id!r}")
        return tenant

    async def list_tenants(
        self, *, after: TenantId | None = None, limit: int = 1000
    ) -> Sequence[Tenant]:
        """By id, those after ``after`` only."""
        async with self._tx.read() as tx:
            return await tx.tenants.list(after=after, limit=limit)

    async def list_queues(self, tenant_id: TenantId) -> Sequence[Queue]:
        async with self._tx() as tx:
            return await tx.queues.list(tenant_id)

    async def set_queue_limit(
        self, tenant_id: TenantId, queue: QueueName, max_waiting: int | None
    ) -> Queue:
        """How many conversations may wait in ``queue`` (None: the engine's default).

        ``QueueSettingsService.configure`` with only that setting, kept for its callers.
        """
        return await self._queue_settings.configure(
            c.ConfigureQueue(
                tenant_id=tenant_id,
                queue=queue,
                max_waiting=max_waiting,
                default_max_waiting=max_waiting is None,
            )
        )


def _slug(name: str) -> str:
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")[:64].strip("-")
    if not slug:
        raise InvalidInput(f"no tenant id can be made from {name!r}: give one")
    return slug
