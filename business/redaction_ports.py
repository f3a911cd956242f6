"""The port of PII redaction's per-tenant settings (``business.redaction``), apart from
``business.ports`` to keep that module readable; ``business.ports.UnitOfWork`` offers it
as ``redaction_settings``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from business.model import TenantId
from business.redaction import RedactionSettings


class RedactionSettingsRepository(Protocol):
    """One row per tenant that changed them (none: the defaults, cards and IBANs
    masked). Read for every message stored, so implementations answer repeated reads
    from memory; a change is what every later unit of work of this process reads once
    it has committed."""

    async def get(self, tenant_id: TenantId) -> RedactionSettings | None: ...

    async def put(self, tenant_id: TenantId, settings: RedactionSettings, at: datetime) -> None:
        """Insert, or replace the tenant's, in one statement."""
        ...
