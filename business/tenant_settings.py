"""A tenant's own settings (so far: whether transcripts are e-mailed automatically)."""

from __future__ import annotations

import dataclasses
import logging

from business import commands as c
from business.errors import NotFound
from business.model import Tenant
from business.transactions import Transactions

logger = logging.getLogger(__name__)


class TenantSettingsService:
    def __init__(self, *, transactions: Transactions) -> None:
        self._tx = transactions

    async def configure(self, cmd: c.ConfigureTenant) -> Tenant:
        """Change what ``cmd`` gives; ``NotFound`` for an unknown tenant. Returns the
        tenant as stored."""
        async with self._tx() as tx:
            tenant = await tx.tenants.get(cmd.tenant_id)
            if tenant is None:
                raise NotFound(f"unknown tenant {cmd.tenant_id!r}")
            if cmd.transcript_auto_send is not None:
                tenant = dataclasses.replace(tenant, transcript_auto_send=cmd.transcript_auto_send)
            await tx.tenants.save_settings(tenant)
            await tx.commit()
        logger.info(
            "tenant %s: transcripts sent automatically: %s",
            tenant.id,
            "on" if tenant.transcript_auto_send else "off",
        )
        return tenant
