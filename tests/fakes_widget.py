"""In-memory fake of the widget configuration port (``tests.fakes`` wires it into
``FakeUnitOfWork``)."""

from __future__ import annotations

from business.model import TenantId
from business.widget_config import WidgetConfig


class FakeWidgetConfigs:
    """Over the store's ``widget_configs`` table (a dict the unit of work copies and
    commits)."""

    def __init__(self, rows: dict[TenantId, WidgetConfig]) -> None:
        self._rows = rows

    async def get(self, tenant_id: TenantId) -> WidgetConfig | None:
        return self._rows.get(tenant_id)

    async def put(self, config: WidgetConfig) -> None:
        self._rows[config.tenant_id] = config
