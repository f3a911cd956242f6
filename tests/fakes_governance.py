"""Fakes of the governance ports (``business.governance_ports``): retention settings
and the audit log. The visitor-data repository spans every table, so its behaviour is
tested against SQLite and PostgreSQL only (``tests/data/test_visitor_data.py``); the
fake refuses, so that a business test that reaches it says so instead of passing."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from business.governance_ports import AuditEntry, RetentionSettings
from business.model import TenantId


class FakeRetentionSettings:
    def __init__(self, stored: dict[TenantId, RetentionSettings]) -> None:
        self._stored = stored

    async def get(self, tenant_id: TenantId) -> RetentionSettings | None:
        return self._stored.get(tenant_id)

    async def put(self, tenant_id: TenantId, settings: RetentionSettings, at: datetime) -> None:
        self._stored[tenant_id] = settings

    async def all(self) -> Mapping[TenantId, RetentionSettings]:
        return {
            t: s
            for t, s in self._stored.items()
            if s.conversations_days is not None or s.visitors_days is not None
        }


class FakeAuditLog:
    def __init__(self, entries: list[AuditEntry]) -> None:
        self._entries = entries

    async def append(self, entry: AuditEntry) -> None:
        self._entries.append(dataclasses.replace(entry, id=len(self._entries) + 1))

    async def list(
        self, *, tenant_id: TenantId | None, since: datetime | None, limit: int
    ) -> Sequence[AuditEntry]:
        found = [
            e
            for e in reversed(self._entries)
            if (tenant_id is None or e.tenant_id == tenant_id) and (since is None or e.at >= since)
        ]
        return found[:limit]


class FakeVisitorData:
    def __getattr__(self, name: str) -> Any:
        return self._refuse

    async def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotImplementedError("visitor data is tested against the SQL repositories")
