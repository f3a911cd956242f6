"""The audit log: every administrator's action, appended and never changed.

Who (``apikey:<id>`` or ``cli:<unix user>``), what (an action name), which tenant,
which target, when, and a small detail. The detail never holds a secret nor a value the
administrator sent (a message text, an address, a key): only which fields were given,
so that the log itself holds no personal data to erase. The REST API writes an entry
for every change made with an admin or platform key (``presentation.api.registry``),
the command line for every command that changes something (``chat_engine.cli``), and
the visitor export and erasure write theirs in their own transaction
(``business.visitor_data``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from business.governance_ports import AuditEntry
from business.model import TenantId
from business.ports import Clock
from business.transactions import Transaction, Transactions

MAX_LIST = 1000

_SECRET = re.compile(r"secret|password|token|key_material|pem|authorization", re.IGNORECASE)


def clean_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` without the entries whose name suggests a secret."""
    return {name: value for name, value in detail.items() if not _SECRET.search(name)}


class AuditService:
    def __init__(self, *, transactions: Transactions, clock: Clock) -> None:
        self._tx = transactions
        self._clock = clock

    def entry(
        self,
        *,
        actor: str,
        action: str,
        tenant_id: TenantId | None,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            at=self._clock.now(),
            actor=actor,
            action=action,
            tenant_id=tenant_id,
            target=target,
            detail=clean_detail(detail or {}),
        )

    async def append_in(self, tx: Transaction, entry: AuditEntry) -> None:
        """Append within ``tx``: the entry is kept exactly when the action is."""
        await tx.audit_log.append(entry)

    async def record(
        self,
        *,
        actor: str,
        action: str,
        tenant_id: TenantId | None,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry in a transaction of its own (after an action that had its
        own)."""
        entry = self.entry(
            actor=actor, action=action, tenant_id=tenant_id, target=target, detail=detail
        )
        async with self._tx() as tx:
            await tx.audit_log.append(entry)
            await tx.commit()
        return entry

    async def list(
        self, *, tenant_id: TenantId | None, since: datetime | None = None, limit: int = 100
    ) -> Sequence[AuditEntry]:
        """Newest first, at most ``limit`` (up to ``MAX_LIST``)."""
        async with self._tx.read() as tx:
            return await tx.audit_log.list(
                tenant_id=tenant_id, since=since, limit=max(1, min(limit, MAX_LIST))
            )
