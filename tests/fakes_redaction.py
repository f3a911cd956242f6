"""The fake of ``business.redaction_ports.RedactionSettingsRepository``."""

from __future__ import annotations

from datetime import datetime

from business.model import TenantId
from business.redaction import RedactionSettings


class FakeRedactionSettings:
    def __init__(self, rows: dict[TenantId, RedactionSettings]) -> None:
        self._rows = rows

    async def get(self, tenant_id: TenantId) -> RedactionSettings | None:
        return self._rows.get(tenant_id)

    async def put(self, tenant_id: TenantId, settings: RedactionSettings, at: datetime) -> None:
        self._rows[tenant_id] = settings
