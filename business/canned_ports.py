"""The port of canned responses (``business.canned``), apart from ``business.ports`` to
keep that module readable; ``business.ports.UnitOfWork`` offers it as ``canned``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from business.model import CannedResponse, QueueName, TenantId


class CannedRepository(Protocol):
    """Canned responses by (tenant, queue, name); queue None is tenant-wide. Lists are
    ordered tenant-wide first, then by queue, then by name."""

    async def get(
        self, tenant_id: TenantId, queue: QueueName | None, name: str
    ) -> CannedResponse | None:
        """Exactly this one: a tenant-wide response is not the queue's."""
        ...

    async def put(self, response: CannedResponse) -> None:
        """Insert, or replace the text of the one with the same key (its ``created_at``
        stays), in one statement."""
        ...

    async def remove(self, tenant_id: TenantId, queue: QueueName | None, name: str) -> bool:
        """Whether there was one to remove."""
        ...

    async def list(
        self, tenant_id: TenantId, queues: Sequence[QueueName | None] | None = None
    ) -> Sequence[CannedResponse]:
        """The tenant's responses; with ``queues``, only those of these queues (None in
        it: the tenant-wide ones)."""
        ...
