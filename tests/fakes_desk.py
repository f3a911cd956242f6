"""In-memory fakes of the agent desk's ports (``tests.fakes`` holds the others and wires
these into ``FakeUnitOfWork``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from business.model import CannedResponse, QueueName, TenantId

CannedKey = tuple[TenantId, QueueName | None, str]


class FakeCannedRepository:
    """Over the store's ``canned`` table (a dict the unit of work copies and commits)."""

    def __init__(self, rows: dict[CannedKey, CannedResponse]) -> None:
        self._rows = rows

    async def get(
        self, tenant_id: TenantId, queue: QueueName | None, name: str
    ) -> CannedResponse | None:
        return self._rows.get((tenant_id, queue, name))

    async def put(self, response: CannedResponse) -> None:
        key = (response.tenant_id, response.queue, response.name)
        stored = self._rows.get(key)
        # As the SQL upsert does: a replaced response keeps its created_at.
        self._rows[key] = (
            response
            if stored is None
            else dataclasses.replace(stored, text=response.text, rich=response.rich)
        )

    async def remove(self, tenant_id: TenantId, queue: QueueName | None, name: str) -> bool:
        return self._rows.pop((tenant_id, queue, name), None) is not None

    async def list(
        self, tenant_id: TenantId, queues: Sequence[QueueName | None] | None = None
    ) -> Sequence[CannedResponse]:
        found = [
            r
            for (t, q, _), r in self._rows.items()
            if t == tenant_id and (queues is None or q in queues)
        ]
        return sorted(found, key=lambda r: (r.queue or "", r.name))
