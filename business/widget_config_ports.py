"""The port of widget configurations (``business.widget_settings``), apart from
``business.ports`` to keep that module readable; ``business.ports.UnitOfWork`` offers it
as ``widget_configs``."""

from __future__ import annotations

from typing import Protocol

from business.model import TenantId
from business.widget_config import WidgetConfig


class WidgetConfigRepository(Protocol):
    """One configuration per tenant, or none (then the default applies)."""

    async def get(self, tenant_id: TenantId) -> WidgetConfig | None: ...

    async def put(self, config: WidgetConfig) -> None:
        """Insert, or replace the tenant's, in one statement."""
        ...
