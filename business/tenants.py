"""Tenants and their queues."""

from __future__ import annotations

from collections.abc import Sequence

from business.errors import InvalidInput, NotFound
from business.model import DEFAULT_QUEUE, Queue, QueueName, Tenant, TenantId
from business.ports import Clock
from business.transactions import Transactions
from business.validation import check_queue_name


class TenantService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock

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

    async def list_queues(self, tenant_id: TenantId) -> Sequence[Queue]:
        async with self._tx() as tx:
            return await tx.queues.list(tenant_id)

    async def set_queue_limit(
        self, tenant_id: TenantId, queue: QueueName, max_waiting: int | None
    ) -> Queue:
        """How many conversations may wait in ``queue`` (None: the engine's default)."""
        if max_waiting is not None and max_waiting < 1:
            raise InvalidInput("a queue's maximum of waiting conversations must be at least 1")
        async with self._tx() as tx:
            found = await tx.queues.get(tenant_id, check_queue_name(queue), for_update=True)
            if found is None:
                raise NotFound(f"unknown queue {queue!r}")
            await tx.queues.set_max_waiting(tenant_id, found.name, max_waiting)
            await tx.commit()
        return Queue(
            tenant_id=found.tenant_id,
            name=found.name,
            title=found.title,
            waiting=found.waiting,
            max_waiting=max_waiting,
        )
