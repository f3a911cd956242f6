"""Retention of conversations and visitors, per tenant (files have their own,
``business.file_retention``).

``RetentionSettings.conversations_days``: an ended conversation goes that many days
after its end, with its events, transcript mails, webhook deliveries, offline message
(an offline message is a conversation) and files, bytes first (as the file purge does:
a purge stopped half-way leaves records whose bytes are gone, which the next round
finishes, never bytes nothing points at). Its report stays: statistics, no personal
data. Open conversations are never touched, however old.

``RetentionSettings.visitors_days``: a visitor with no conversation left goes that many
days after they were last seen, with their identity link and device tokens. "Seen" is
what is stored: created, last served, or a device token of theirs last used (a visitor
who only opens the widget leaves no trace to date; deleting them loses nothing, their
next visit starts as a new visitor).

The engine purges in the background (``RetentionPurger``, every ``[files]
purge_interval_seconds``, with the files), an operator at once with
``chat-engine retention purge``. Work goes in batches of short transactions; several
engines may purge at once (what another already deleted is simply gone), and their
background rounds take turns (``business.cluster_jobs``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from business.cluster_jobs import in_one_process
from business.errors import InvalidInput, NotFound
from business.file_model import MAX_RETENTION_DAYS
from business.file_ports import BlobStore
from business.governance_ports import RetentionSettings
from business.model import TenantId
from business.ports import Clock
from business.purging import Purger, tenants_to_purge
from business.transactions import Transactions

logger = logging.getLogger(__name__)

BATCH = 100
"""Conversations or visitors deleted per transaction."""

KEEP_FOREVER = 0
"""What the CLI and REST take for "no retention"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigureRetention:
    tenant_id: TenantId
    conversations_days: int | None = None
    """None: unchanged; ``KEEP_FOREVER``: kept for ever."""
    visitors_days: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPurge:
    tenant_id: TenantId
    settings: RetentionSettings
    conversations: int
    files: int
    visitors: int


def _days(value: int | None, current: int | None, name: str) -> int | None:
    if value is None:
        return current
    if value == KEEP_FOREVER:
        return None
    if not 1 <= value <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"{name} must be 1 to {MAX_RETENTION_DAYS} (or 0 to keep for ever)")
    return value


class RetentionSettingsService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock

    async def get(self, tenant_id: TenantId) -> RetentionSettings:
        async with self._tx.read() as tx:
            if await tx.tenants.get(tenant_id) is None:
                raise NotFound(f"unknown tenant {tenant_id!r}")
            return await tx.retention_settings.get(tenant_id) or RetentionSettings()

    async def configure(self, command: ConfigureRetention) -> RetentionSettings:
        """Change what ``command`` gives; the rest stays."""
        async with self._tx() as tx:
            if await tx.tenants.get(command.tenant_id) is None:
                raise NotFound(f"unknown tenant {command.tenant_id!r}")
            current = await tx.retention_settings.get(command.tenant_id) or RetentionSettings()
            stored = RetentionSettings(
                conversations_days=_days(
                    command.conversations_days, current.conversations_days, "conversations_days"
                ),
                visitors_days=_days(command.visitors_days, current.visitors_days, "visitors_days"),
            )
            await tx.retention_settings.put(command.tenant_id, stored, self._clock.now())
            await tx.commit()
        return stored


class RetentionService:
    def __init__(self, *, transactions: Transactions, blobs: BlobStore, clock: Clock) -> None:
        self._tx = transactions
        self._blobs = blobs
        self._clock = clock

    async def purge(
        self, *, tenant_id: TenantId | None = None, dry_run: bool = False
    ) -> tuple[RetentionPurge, ...]:
        """Delete what is past its tenant's retention (``tenant_id``'s only, if given;
        ``NotFound`` for an unknown one); ``dry_run`` deletes nothing and counts what
        would go (visitors counted as they are now, before the conversations go). One
        entry per tenant with a retention, by tenant id."""
        settings = await tenants_to_purge(
            self._tx, tenant_id, lambda tx: tx.retention_settings.all()
        )
        done = []
        for tenant, kept in settings:
            conversations = files = visitors = 0
            if kept.conversations_days is not None:
                conversations, files = await self._conversations(
                    tenant, kept.conversations_days, dry_run
                )
            if kept.visitors_days is not None:
                visitors = await self._visitors(tenant, kept.visitors_days, dry_run)
            if (conversations or visitors) and not dry_run:
                logger.info(
                    "tenant %s: purged %d conversations (%d files) and %d visitors",
                    tenant,
                    conversations,
                    files,
                    visitors,
                )
            done.append(
                RetentionPurge(
                    tenant_id=tenant,
                    settings=kept,
                    conversations=conversations,
                    files=files,
                    visitors=visitors,
                )
            )
        return tuple(done)

    async def purge_round(self) -> tuple[RetentionPurge, ...]:
        """The background purge: skipped while another process purges."""
        return await in_one_process(self._tx, "retention", self.purge) or ()

    async def _conversations(self, tenant: TenantId, days: int, dry_run: bool) -> tuple[int, int]:
        before = self._clock.now() - timedelta(days=days)
        count = files = 0
        limit = 1_000_000 if dry_run else BATCH
        while True:
            async with self._tx.read() as tx:
                batch = await tx.visitor_data.ended_before(tenant, before, limit=limit)
                stored = await tx.visitor_data.conversation_files(batch)
            if dry_run:
                return len(batch), len(stored)
            for file in stored:
                await self._blobs.delete(file.id)
            if batch:
                async with self._tx() as tx:
                    await tx.visitor_data.delete_conversations(batch)
                    await tx.commit()
            count += len(batch)
            files += len(stored)
            if len(batch) < limit:
                return count, files

    async def _visitors(self, tenant: TenantId, days: int, dry_run: bool) -> int:
        before = self._clock.now() - timedelta(days=days)
        count = 0
        limit = 1_000_000 if dry_run else BATCH
        while True:
            async with self._tx.read() as tx:
                batch = await tx.visitor_data.idle_visitors(tenant, before, limit=limit)
            if dry_run:
                return len(batch)
            deleted = 0
            if batch:
                async with self._tx() as tx:
                    deleted = await tx.visitor_data.delete_visitors(tenant, batch, before)
                    await tx.commit()
            count += deleted
            # A visitor back meanwhile stays, and is not picked again while active.
            if len(batch) < limit or deleted == 0:
                return count


class RetentionPurger(Purger):
    def __init__(
        self, retention: RetentionService, *, interval: float, first_delay: float = 60.0
    ) -> None:
        super().__init__(
            "retention-purger",
            retention.purge_round,
            interval=interval,
            failure="could not purge the conversations and visitors past their retention",
            first_delay=first_delay,
        )
