"""File retention: a tenant may keep shared files for a limited number of days
(``FileLimits.retention_days``); older ones are purged, bytes and metadata.

The engine purges in the background (``FilePurger``, every ``[files]
purge_interval_seconds``) and an operator may purge at once (``chat-engine files
purge``). The bytes go first and then the metadata: a purge that stops half-way leaves
metadata whose bytes are gone (its link answers "gone", and the next purge finishes it),
never bytes that nothing points at any more, which would outlive the retention unseen.
Several engines may purge at once: deleting what another already deleted is no error;
the engines' background rounds take turns anyway (``business.cluster_jobs``).

A purged file's messages keep their ``file:<id>`` attachment; its link, still correctly
signed, then answers that the file is no longer available (``business.errors.FileGone``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from business.cluster_jobs import in_one_process
from business.file_ports import BlobStore
from business.model import TenantId
from business.ports import Clock
from business.purging import Purger, tenants_to_purge
from business.transactions import Transactions

logger = logging.getLogger(__name__)

PURGE_BATCH = 200
"""Files deleted per transaction: a big backlog is deleted in short transactions."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantPurge:
    tenant_id: TenantId
    retention_days: int
    files: int
    bytes: int


class FileRetentionService:
    def __init__(self, *, transactions: Transactions, blobs: BlobStore, clock: Clock) -> None:
        self._tx = transactions
        self._blobs = blobs
        self._clock = clock

    async def purge(
        self, *, tenant_id: TenantId | None = None, dry_run: bool = False
    ) -> tuple[TenantPurge, ...]:
        """Delete the files older than their tenant's retention (``tenant_id``'s only,
        if given; ``NotFound`` for an unknown one). ``dry_run`` deletes nothing and
        says what would go. One entry per tenant with a retention, by tenant id;
        tenants that keep files for ever are left out."""
        now = self._clock.now()
        retentions = await tenants_to_purge(self._tx, tenant_id, lambda tx: tx.files.retentions())
        done: list[TenantPurge] = []
        for tenant, days in retentions:
            before = now - timedelta(days=days)
            if dry_run:
                async with self._tx.read() as tx:
                    count, size = await tx.files.count_before(tenant, before)
            else:
                count, size = await self._purge_tenant(tenant, before)
                if count:
                    logger.info(
                        "tenant %s: purged %d files (%d bytes) older than %d days",
                        tenant,
                        count,
                        size,
                        days,
                    )
            done.append(TenantPurge(tenant_id=tenant, retention_days=days, files=count, bytes=size))
        return tuple(done)

    async def purge_round(self) -> tuple[TenantPurge, ...]:
        """The background purge: skipped while another process purges files."""
        return await in_one_process(self._tx, "file-retention", self.purge) or ()

    async def _purge_tenant(self, tenant: TenantId, before: datetime) -> tuple[int, int]:
        count = size = 0
        while True:
            async with self._tx.read() as tx:
                batch = await tx.files.created_before(tenant, before, limit=PURGE_BATCH)
            for file in batch:
                await self._blobs.delete(file.id)
            if batch:
                async with self._tx() as tx:
                    await tx.files.delete([file.id for file in batch])
                    await tx.commit()
            count += len(batch)
            size += sum(file.size for file in batch)
            if len(batch) < PURGE_BATCH:
                return count, size


class FilePurger(Purger):
    def __init__(
        self, retention: FileRetentionService, *, interval: float, first_delay: float = 60.0
    ) -> None:
        super().__init__(
            "file-purger",
            retention.purge_round,
            interval=interval,
            failure="could not purge the files past their retention",
            first_delay=first_delay,
        )
